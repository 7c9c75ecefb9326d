"""The database: outage answered with 503 and recovered from without a restart; persistence
across restarts; a server left behind by a killed API is adopted, never duplicated."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import httpx
import psutil
import psycopg
import pytest
from litestar.testing import TestClient
from vibecode_api.app import create_app
from vibecode_api.db.embedded import SERVER_SETTINGS, EmbeddedPostgres
from vibecode_api.services import services_of
from vibecode_api.settings import Settings

from ..routes_for_tests import HANDLERS


@pytest.fixture
def own_server(tmp_path: Path) -> Any:
    """A server this test may stop and start without disturbing the shared one."""
    server = EmbeddedPostgres(tmp_path / "own")
    server.start()
    yield server
    server.stop()


def test_outage_gives_503_and_recovers_by_itself(
    own_server: EmbeddedPostgres, tmp_path: Path
) -> None:
    settings = Settings(database_url=own_server.url, data_dir=tmp_path, db_timeout=300)
    with TestClient(create_app(settings, HANDLERS), raise_server_exceptions=False) as client:
        assert client.post("/test/notes", json={"title": "before"}).status_code == 201

        own_server.kill_server()
        health = client.get("/api/health")
        assert health.status_code == 503
        assert health.json()["status"] == "unhealthy"
        assert health.json()["checks"]["database"]["status"] == "error"
        assert client.get("/api/health/ready").status_code == 503
        assert client.get("/api/health/live").status_code == 200
        refused = client.post("/test/notes", json={"title": "during"})
        assert refused.status_code == 503
        assert refused.json()["error"] == "database_unavailable"
        assert refused.headers["retry-after"] == "5"

        own_server.restart_server()
        # The pool reconnects within ~2 s; 30 s leaves room for a loaded 2-core machine (10 s
        # failed once there) and still fails a recovery that would need a restart.
        _until_healthy(client, within=30)
        assert client.get("/api/health/ready").status_code == 200
        assert client.post("/test/notes", json={"title": "after"}).status_code == 201
        titles = [e["target"] for e in client.get("/test/audit").json()]
        assert titles == ["before", "after"]


def test_an_unreachable_database_at_start_is_migrated_once_it_appears(
    tmp_path: Path,
) -> None:
    server = EmbeddedPostgres(tmp_path / "late")
    server.start()
    url = server.url
    server.kill_server()
    try:
        settings = Settings(database_url=url, data_dir=tmp_path, db_timeout=300)
        with TestClient(create_app(settings, HANDLERS), raise_server_exceptions=False) as client:
            assert client.get("/api/health/ready").status_code == 503
            server.restart_server()
            db = services_of(client.app.state).db
            client.blocking_portal.call(_within, 30, db.wait_schema)  # retried every 2 s
            assert client.get("/api/health/ready").status_code == 200
            assert client.post("/test/notes", json={"title": "x"}).status_code == 201
    finally:
        server.stop()


def test_data_survives_an_api_restart_on_the_embedded_database(tmp_path: Path) -> None:
    settings = Settings(database_url=None, data_dir=tmp_path / "data")
    with TestClient(create_app(settings, HANDLERS)) as client:
        assert client.post("/test/notes", json={"title": "kept"}).status_code == 201
    assert not _postgres_running_on(tmp_path / "data")
    with TestClient(create_app(settings, HANDLERS)) as client:
        assert [e["target"] for e in client.get("/test/audit").json()] == ["kept"]
    assert not _postgres_running_on(tmp_path / "data")


def _until_healthy(client: Any, within: float) -> None:
    """Until the database check is ok again. Not the overall status: these apps share the
    pytest process, whose RSS (every embedder and app it has hosted) can put the memory check
    at warn, which says nothing about the database."""
    deadline = time.monotonic() + within
    while (body := client.get("/api/health").json())["checks"]["database"]["status"] != "ok":
        assert time.monotonic() < deadline, f"still {body} {within}s after the database returned"


async def _within(seconds: float, wait: Any) -> None:
    with anyio.fail_after(seconds):
        await wait()


def _postgres_running_on(data_dir: Path) -> list[int]:
    pgdata = str((data_dir / "pgdata").resolve())
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        if proc.info["name"] == "postgres" and pgdata in (proc.info["cmdline"] or []):
            found.append(proc.pid)
    return found


def test_a_killed_api_leaves_a_server_that_the_next_start_adopts_and_stops(
    api_process: Any,
    tmp_path: Path,
) -> None:
    first = api_process({"VIBE_DATA_DIR": str(tmp_path / "data")})
    first.wait_ready()
    postmaster = _postgres_running_on(tmp_path / "data")
    assert postmaster
    first.stop(signal.SIGKILL)
    assert _postgres_running_on(tmp_path / "data") == postmaster  # left behind, as documented

    second = api_process({"VIBE_DATA_DIR": str(tmp_path / "data")})
    second.wait_ready()
    assert _postgres_running_on(tmp_path / "data") == postmaster  # adopted, not duplicated
    assert httpx.get(f"{second.url}/api/health").json()["status"] == "healthy"
    assert second.stop(signal.SIGINT) == 0
    assert _postgres_running_on(tmp_path / "data") == []


def test_shutdown_lets_in_flight_requests_finish_and_stops_the_database(
    api_process: Any,
    tmp_path: Path,
) -> None:
    api = api_process({"VIBE_DATA_DIR": str(tmp_path / "data")}, target="tests.api.slow_app:create")
    api.wait_ready()
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(httpx.get, f"{api.url}/test/slow?seconds=1.5", timeout=30)
        _until_in_flight(api.url, 2)
        assert api.stop(signal.SIGTERM) == 0
        answer = slow.result(30)
    assert (answer.status_code, answer.json()) == (200, {"status": "finished"})
    assert _postgres_running_on(tmp_path / "data") == []
    assert '"api_stopped"' in api.output()


def test_the_api_still_exits_cleanly_when_its_database_went_first(
    api_process: Any, pg_server: EmbeddedPostgres, database_url: str
) -> None:
    """Stopping local sessions needs the database; without it the rest of the shutdown (the
    pool's reconnecting tasks above all) must still end, or the process never exits."""
    api = api_process({"VIBE_DATABASE_URL": database_url, "VIBE_DOGSTATSD": "false"})
    api.wait_ready()
    name = database_url.split("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    assert api.stop(signal.SIGTERM) == 0
    assert '"sessions_not_stopped"' in api.output()
    assert '"api_stopped"' in api.output()


def _until_in_flight(url: str, count: int, timeout: float = 10) -> None:
    """Until the server reports `count` requests in flight (this poll is one of them)."""
    deadline = time.monotonic() + timeout
    with httpx.Client() as client:
        while client.get(f"{url}/api/monitoring/metrics").json()["inFlight"] < count:
            assert time.monotonic() < deadline, "the slow request never reached the server"


def test_the_embedded_server_runs_with_its_settings_from_the_first_start(
    pg_server: EmbeddedPostgres,
) -> None:
    """shared_buffers needs a restart to change: the first start applies it, so even a fresh
    data folder (the test session's, a bench run's) searches with the index in memory."""
    with psycopg.connect(pg_server.url) as conn:
        for name, value in SERVER_SETTINGS.items():
            row = conn.execute(f"SHOW {name}").fetchone()
            assert row is not None
            assert row[0] == value

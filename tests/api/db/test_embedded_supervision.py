"""The embedded PostgreSQL comes back by itself: its server is SIGKILLed while four clients
upload, and the API restarts it without being restarted itself, answering 503 with Retry-After
in between and losing nothing it acknowledged."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ..conftest import as_user

ALICE = as_user("alice", "vibecode-premium")
CLIENTS = 4
BEFORE_KILL = 8
"""Uploads acknowledged before the kill: it lands in the middle of the traffic."""
AFTER_KILL = 6
"""Uploads each client sends once the server is dead (most meet the outage, some its end)."""

pytestmark = pytest.mark.slow


def _postmaster(data: Path) -> int:
    return int((data / "pgdata" / "postmaster.pid").read_text().split("\n", 1)[0])


def test_a_killed_embedded_server_is_restarted_and_nothing_acknowledged_is_lost(
    api_process: Any, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    api = api_process({"VIBE_DATA_DIR": str(data)})
    api.wait_ready(timeout=120)
    ws = httpx.post(f"{api.url}/api/workspaces", json={"name": "crash"}, headers=ALICE).json()
    files = f"{api.url}/api/workspaces/{ws['id']}/files"
    acknowledged: list[str] = []
    answers: list[httpx.Response] = []
    enough = asyncio.Event()
    killed = asyncio.Event()

    async def client(n: int, http: httpx.AsyncClient) -> None:
        i, after = 0, 0
        while after < AFTER_KILL:
            path = f"c{n}/f{i}.md"
            r = await http.post(
                files, files={"file": (path, f"client {n} file {i}".encode())}, headers=ALICE
            )
            answers.append(r)
            if r.status_code in (200, 201):
                acknowledged.append(path)
                if len(acknowledged) >= BEFORE_KILL:
                    enough.set()
            after += killed.is_set()
            i += 1

    async def main() -> None:
        async with httpx.AsyncClient(timeout=60) as http:
            uploads = [asyncio.create_task(client(n, http)) for n in range(CLIENTS)]
            await enough.wait()
            os.kill(_postmaster(data), signal.SIGKILL)
            killed.set()
            await asyncio.gather(*uploads)

    asyncio.run(main())
    outage = [r for r in answers if r.status_code == 503]
    assert {r.status_code for r in answers} <= {200, 201, 503}, [
        (r.status_code, r.text[:200]) for r in answers if r.status_code not in (200, 201, 503)
    ]
    assert all(r.headers.get("retry-after") for r in outage)
    assert all(r.json()["error"] == "database_unavailable" for r in outage)

    deadline = time.monotonic() + 90  # a bound for a loaded machine; the time is in make bench
    while httpx.get(f"{api.url}/api/health/ready").status_code != 200:
        assert time.monotonic() < deadline, "the embedded server never came back"
    health = httpx.get(f"{api.url}/api/health").json()["checks"]["database"]
    assert health["status"] == "ok"
    assert health["embedded"]["restarts"] >= 1
    assert health["embedded"]["lastDeath"] is not None

    after = httpx.post(files, files={"file": ("after.md", b"written after")}, headers=ALICE)
    assert after.status_code == 201
    listed = {f["path"] for f in httpx.get(files, headers=ALICE).json()}
    assert set(acknowledged) | {"after.md"} <= listed
    assert "embedded_postgres_died" in api.output()


def _restarts(api: Any, at_least: int) -> dict[str, Any]:
    """The embedded server's health once it has been restarted `at_least` times and is ready."""
    deadline = time.monotonic() + 90  # a bound for a loaded machine, not a timing goal
    while True:
        assert time.monotonic() < deadline, f"no restart {at_least}:\n{api.output()[-3000:]}"
        try:
            health = httpx.get(f"{api.url}/api/health", timeout=5).json()["checks"]["database"]
        except httpx.TransportError:
            continue
        embedded: dict[str, Any] = health["embedded"]
        if embedded["restarts"] >= at_least and health["status"] == "ok":
            return embedded


def test_a_server_that_keeps_dying_is_restarted_after_a_growing_pause_said_in_one_line(
    api_process: Any, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    api = api_process({"VIBE_DATA_DIR": str(data), "VIBE_SAMPLES": "false"})
    api.wait_ready(timeout=120)
    for n in (1, 2, 3):  # each death within CRASH_LOOP_SECONDS of the restart before it
        os.kill(_postmaster(data), signal.SIGKILL)
        _restarts(api, n)
    lines = [json.loads(line) for line in api.output().splitlines() if line.startswith("{")]
    events = [e for e in lines if e.get("event", "").startswith("embedded_postgres_")]
    deaths = [
        e
        for e in events
        if e["event"] in ("embedded_postgres_died", "embedded_postgres_crash_loop")
    ]
    assert [e["event"] for e in deaths] == [
        "embedded_postgres_died",
        "embedded_postgres_crash_loop",
        "embedded_postgres_crash_loop",
    ]
    assert [e["pause_seconds"] for e in deaths[1:]] == [1.0, 2.0]
    assert "trying again in 2 s" in deaths[2]["detail"]
    # Only a server that came up is a restart: one per death, whatever the attempts it took.
    assert [e["restarts"] for e in events if e["event"] == "embedded_postgres_restarted"] == [
        1,
        2,
        3,
    ]
    assert str(data / "pgdata" / "log") in deaths[2]["detail"]

"""Console sessions on the local provisioner, with a real code-server on loopback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
import pytest
from vibecode_api.services import services_of

from .conftest import as_user

pytestmark = pytest.mark.slow

ALICE = as_user("alice", "vibecode-premium")  # premium: 1,000 calls/hour leaves room to poll


def _until(client: Any, path: str, states: set[str], within: float = 30) -> dict[str, Any]:
    """Poll the session's state (it changes in the background) until it is one of `states`."""
    deadline = time.monotonic() + within
    while True:
        body: dict[str, Any] = client.get(path, headers=ALICE).json()
        if body["status"] in states:
            return body
        assert time.monotonic() < deadline, f"still {body} after {within}s"
        time.sleep(0.1)  # paced like a UI polling an external process, not ordering our steps


def _workspace(client: Any, name: str = "console") -> str:
    ws_id: str = client.post("/api/workspaces", json={"name": name}, headers=ALICE).json()["id"]
    return ws_id


def test_a_session_reaches_ready_with_a_real_code_server_and_stops(
    make_client: Any, code_server: str
) -> None:
    client = make_client()
    ws = _workspace(client)
    path = f"/api/workspaces/{ws}/session"
    assert client.get(path, headers=ALICE).json()["status"] == "stopped"
    started = client.post(path, headers=ALICE)
    assert started.status_code == 202
    assert started.json()["status"] == "loading"
    ready = _until(client, path, {"ready", "error"})
    assert ready["status"] == "ready", ready
    assert ready["url"].startswith("http://127.0.0.1:")
    assert len(ready["password"]) >= 20
    base = ready["url"].split("/?")[0]
    health = httpx.get(f"{base}/healthz")
    assert health.status_code == 200
    assert health.json()["status"] in ("alive", "expired")
    login = httpx.post(f"{base}/login", data={"password": ready["password"]})
    assert login.status_code == 302  # the generated password opens it
    assert client.post(path, headers=ALICE).json()["status"] == "ready"  # idempotent

    # Nobody else sees the session, let alone its password.
    other = client.get(path, headers=as_user("mallory"))
    assert other.status_code == 404
    assert ready["password"] not in other.text

    assert client.delete(path, headers=ALICE).status_code == 204
    stopped = client.get(path, headers=ALICE).json()
    assert (stopped["status"], stopped["reason"]) == ("stopped", "requested")
    assert "password" not in stopped
    try:
        httpx.get(f"{base}/healthz", timeout=2)
        raise AssertionError("code-server still answers after stop")
    except httpx.TransportError:
        pass
    actions = [e["action"] for e in client.get("/api/audit", headers=ALICE).json()]
    assert actions[:2] == ["session.stop", "session.start"]


def test_an_idle_session_is_stopped_and_storage_kept(make_client: Any, code_server: str) -> None:
    client = make_client(session_idle_timeout=1, session_reap_interval=0.2)
    ws = _workspace(client)
    path = f"/api/workspaces/{ws}/session"
    client.post(path, headers=ALICE)
    ready = _until(client, path, {"ready", "error"})
    assert ready["status"] == "ready", ready
    project = Path(ready["url"].split("folder=")[1].replace("%2F", "/"))
    (project / "notes.txt").write_text("kept")
    # No API traffic and no editor attached: the sweep stops it after the timeout.
    stopped = _wait_stopped_without_traffic(client, ws, within=30)
    assert stopped["reason"] == "idle"
    assert (project / "notes.txt").read_text() == "kept"


def _wait_stopped_without_traffic(client: Any, ws: str, within: float) -> dict[str, Any]:
    """Watch the database (not the API, whose traffic would count as activity)."""
    url = services_of(client.app.state).db.url
    deadline = time.monotonic() + within
    with psycopg.connect(url) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT state, stop_reason FROM sessions WHERE workspace_id = %s", (ws,)
            ).fetchone()
            if row and row[0] == "stopped":
                return {"status": row[0], "reason": row[1]}
            conn.rollback()
            time.sleep(0.05)  # observing another actor's progress, not ordering our own steps
    raise AssertionError(f"session not stopped within {within}s")


def test_without_code_server_the_session_errors_with_how_to_install_it(
    make_client: Any,
) -> None:
    client = make_client(code_server_bin="/nonexistent/code-server")
    ws = _workspace(client)
    path = f"/api/workspaces/{ws}/session"
    assert client.post(path, headers=ALICE).status_code == 202
    failed = _until(client, path, {"error"})
    assert "make code-server" in failed["error"]
    # An errored session does not hold a concurrent-session slot.
    usage = client.get("/api/usage", headers=ALICE).json()["quotas"]["concurrentSessions"]
    assert usage["used"] == 0


def test_sessions_left_by_a_crash_are_reconciled_at_start(
    make_client: Any, make_settings: Any, code_server: str
) -> None:
    client = make_client()
    ws = _workspace(client)
    path = f"/api/workspaces/{ws}/session"
    client.post(path, headers=ALICE)
    ready = _until(client, path, {"ready", "error"})
    assert ready["status"] == "ready", ready
    url = services_of(client.app.state).db.url
    with psycopg.connect(url) as conn:
        handle = conn.execute(
            "SELECT handle FROM sessions WHERE workspace_id = %s", (ws,)
        ).fetchone()[0]
        # A crashed API: its code-server died too, but the row still says ready.
        psutil.Process(handle["pid"]).kill()
        psutil.Process(handle["pid"]).wait(10)
    again = make_client()
    body = again.get(path, headers=ALICE).json()
    assert (body["status"], body["reason"]) == ("stopped", "lost when the API restarted")

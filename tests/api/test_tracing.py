"""ddtrace APM behind `DD_TRACE_ENABLED`: a real API process sends its spans to a trace intake on
127.0.0.1, named by route template, with the database and provider calls beneath them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import msgpack
import pytest

from .conftest import as_user


class TraceIntake(ThreadingHTTPServer):
    """The agent's trace endpoint (v0.4: msgpack lists of traces); everything else answers {}."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.spans: list[dict[str, Any]] = []
        self.arrived = threading.Condition()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def wait_for(self, resource: str, timeout: float = 30) -> list[dict[str, Any]]:
        with self.arrived:
            self.arrived.wait_for(
                lambda: any(s["resource"] == resource for s in self.spans), timeout
            )
            return list(self.spans)


class _Handler(BaseHTTPRequestHandler):
    server: TraceIntake

    def _answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/traces") and body:
            traces = msgpack.unpackb(body, raw=False, strict_map_key=False)
            with self.server.arrived:
                self.server.spans += [span for trace in traces for span in trace]
                self.server.arrived.notify_all()
        reply = json.dumps({"endpoints": ["/v0.4/traces"]} if self.path == "/info" else {})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(reply.encode())

    do_GET = do_PUT = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def intake() -> Iterator[TraceIntake]:
    server = TraceIntake()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_requests_are_traced_by_route_with_database_spans(
    api_process: Any, database_url: str, intake: TraceIntake
) -> None:
    api = api_process(
        {
            "VIBE_DATABASE_URL": database_url,
            "DD_TRACE_ENABLED": "true",
            "DD_TRACE_AGENT_URL": intake.url,
            "DD_TRACE_API_VERSION": "v0.4",
            "DD_TRACE_WRITER_INTERVAL_SECONDS": "0.2",
            "DD_INSTRUMENTATION_TELEMETRY_ENABLED": "false",
            "DD_REMOTE_CONFIGURATION_ENABLED": "false",
            "DD_ENV": "test",
            "DD_SERVICE": "vibecode-api",
            "DD_VERSION": "9.9.9",
            "VIBE_DOGSTATSD": "false",
        }
    )
    api.wait_ready()
    alice = as_user("alice")
    ws = httpx.post(f"{api.url}/api/workspaces", json={"name": "t"}, headers=alice).json()["id"]
    assert httpx.get(f"{api.url}/api/workspaces/{ws}", headers=alice).status_code == 200

    spans = intake.wait_for("GET /api/workspaces/{workspace_id}")
    root = next(s for s in spans if s["resource"] == "GET /api/workspaces/{workspace_id}")
    assert root["service"] == "vibecode-api"
    assert root["meta"]["env"] == "test"
    assert root["meta"]["version"] == "9.9.9"
    assert root["meta"]["http.route"] == "/api/workspaces/{workspace_id}"
    assert root["meta"]["http.status_code"] == "200"
    assert ws not in root["resource"]  # ids never become resources
    children = [s for s in spans if s["trace_id"] == root["trace_id"] and s is not root]
    assert any(s["name"] == "postgres.query" for s in children), children
    assert not any(s["resource"].startswith("GET /api/health") for s in spans)

"""Telemetry cost: the API's request throughput with DogStatsD metrics on (sending to a UDP
socket that stands in for the agent) and off. Target from issue 7: within 3 %.

Two routes: `/api/me` (identity, the hourly-limit upsert, a handler: a typical API call) and
`/api/monitoring/metrics` (no database: the worst case for the per-request metric cost). The
two servers run side by side and are measured alternately, so drift on a noisy machine hits
both; the table keeps the median of the rounds. On 2 shared cores run-to-run noise is larger
than 3 % (two identical servers differ by 4-5 %; the same route has measured -8 % and +2.5 %
with the same code), so the target is judged on the work metrics add to a request: the metric
calls timed in a loop (with the per-second hand-over to the client included), against the
server's CPU per request on the cheapest route (throughput is its inverse). The wrk and
in-process A/B rows are kept for context. History: the datadog client's own aggregation
cost ~4 µs per request (+11-14 % CPU in every A/B row); counting in plain dicts and handing
over once a second brought it to ~1.5 µs (hand-over included) and the A/B rows into the
noise.
"""

from __future__ import annotations

import socket
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ._harness import Area, Row, Server, api_argv, wrk

READY = "/api/health/ready"
SCRIPT = Path(__file__).with_name("unique_users.lua")
ROUTES = {"/api/me": SCRIPT, "/api/monitoring/metrics": None}


ASGI_REQUESTS = 5000
ROUTE_MIX = ("/api/me", "/api/usage", "/api/workspaces", "/api/chat")


def _asgi_cost(rounds: int) -> dict[str, list[float]]:
    """CPU µs per request through the whole app (middleware, gate, routing, handler) called
    in process, metrics off and on alternately: no network, no load generator, no noise from
    either sharing the 2 cores."""
    import asyncio

    from vibecode_api import telemetry
    from vibecode_api.app import create_app
    from vibecode_api.db.embedded import EmbeddedPostgres
    from vibecode_api.services import services_of
    from vibecode_api.settings import Settings

    async def measure(url: str, data: Path, on: bool, port: int) -> float:
        settings = Settings(
            database_url=url, data_dir=data, log_level="warn", dogstatsd=on, dd_dogstatsd_port=port
        )
        app: Any = create_app(settings)  # called as a bare ASGI callable below
        path = "/api/monitoring/metrics"
        scope = {
            "type": "http",
            "method": "GET",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "headers": [(b"host", b"bench")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 80),
            "scheme": "http",
            "http_version": "1.1",
            "root_path": "",
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            return None

        async with app.lifespan():
            await services_of(app.state).db.wait_schema()
            for _ in range(500):  # warm-up
                await app(dict(scope, state={}), receive, send)
            started = time.process_time()
            for _ in range(ASGI_REQUESTS):
                await app(dict(scope, state={}), receive, send)
            used = time.process_time() - started
        telemetry.close()
        return used / ASGI_REQUESTS * 1e6

    data = Path(tempfile.mkdtemp(prefix="vibe-bench-asgi-"))
    pg = EmbeddedPostgres(data)
    url = pg.start()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    out: dict[str, list[float]] = {"off": [], "on": []}
    try:
        for i in range(rounds):
            for name in ("off", "on") if i % 2 == 0 else ("on", "off"):
                cost = asyncio.run(measure(url, data, name == "on", sink.getsockname()[1]))
                out[name].append(cost)
    finally:
        pg.stop()
        sink.close()
    return out


def _per_request_cost(per_second: int = 5000, seconds: int = 20) -> float:
    """µs the API's per-request metric calls take with the client on, sending to a socket that
    accepts everything: `seconds` simulated seconds of `per_second` requests over four routes
    (about the cheapest route's rate here), each ending with the hand-over and send."""
    from vibecode_api import telemetry
    from vibecode_api.settings import Settings

    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    telemetry.configure(Settings(dd_dogstatsd_port=sink.getsockname()[1]))
    try:
        started = time.perf_counter()
        for _ in range(seconds):
            for i in range(per_second):
                telemetry.request("GET", ROUTE_MIX[i % len(ROUTE_MIX)], 200, 0.001)
            telemetry.flush()  # the once-a-second hand-over and send belong to the cost
        return (time.perf_counter() - started) / (seconds * per_second) * 1e6
    finally:
        telemetry.close()
        sink.close()


def run(quick: bool = False) -> Area:
    area = Area("Telemetry (Datadog DogStatsD)", "make bench  (benchmarks/telemetry.py)")
    data = Path(tempfile.mkdtemp(prefix="vibe-bench-telemetry-"))
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))  # an agent that accepts every datagram
    common = {"VIBE_LOG_LEVEL": "warn", "DD_ENV": "bench"}
    servers = {
        "off": Server(
            api_argv(),
            {**common, "VIBE_DATA_DIR": str(data / "off"), "VIBE_DOGSTATSD": "false"},
            READY,
        ),
        "on": Server(
            api_argv(),
            {
                **common,
                "VIBE_DATA_DIR": str(data / "on"),
                "VIBE_DOGSTATSD": "true",
                "DD_DOGSTATSD_PORT": str(sink.getsockname()[1]),
            },
            READY,
        ),
    }
    seconds, rounds = (3, 2) if quick else (4, 6)
    try:
        for server in servers.values():
            server.wait_ready()
        for route, script in ROUTES.items():
            rps: dict[str, list[float]] = {"off": [], "on": []}
            cpu: dict[str, list[float]] = {"off": [], "on": []}
            for i in range(rounds):
                # off-on, then on-off: neither setting always runs second on a drifting machine.
                for name in ("off", "on") if i % 2 == 0 else ("on", "off"):
                    before = servers[name].cpu_seconds()
                    result = wrk(servers[name].url + route, seconds=seconds, script=script)
                    used = servers[name].cpu_seconds() - before
                    if result["non2xx"]:
                        raise RuntimeError(f"{route} answered non-2xx under load ({name})")
                    rps[name].append(result["rps"])
                    cpu[name].append(used / result["requests"] * 1e6)
            off, on = statistics.median(rps["off"]), statistics.median(rps["on"])
            cpu_off, cpu_on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
            delta = (off - on) / off * 100
            cpu_delta = (cpu_on - cpu_off) / cpu_off * 100
            area.raw[route] = {"rps": rps, "cpu_us_per_request": cpu}
            area.rows.append(
                Row(
                    f"GET {route}: API CPU per request under wrk, metrics on vs off",
                    round(cpu_delta, 1),
                    "%",
                    "",
                    None,
                    f"off {cpu_off:.0f} µs, on {cpu_on:.0f} µs (median of {rounds} alternating "
                    f"{seconds} s wrk runs, 1 worker, 50 connections)",
                )
            )
            area.rows.append(
                Row(
                    f"GET {route}: throughput, metrics on vs off",
                    round(-delta, 1),
                    "%",
                    "",
                    None,
                    f"off {off:.0f} req/s, on {on:.0f} req/s; wrk, the API and PostgreSQL "
                    "share 2 cores, so run-to-run noise here exceeds 3 %",
                )
            )
        asgi = _asgi_cost(10)
        area.raw["asgi_us_per_request"] = asgi
        off_us, on_us = statistics.median(asgi["off"]), statistics.median(asgi["on"])
        asgi_delta = (on_us - off_us) / off_us * 100
        area.rows.append(
            Row(
                "GET /api/monitoring/metrics in process (whole ASGI stack), metrics on vs off",
                round(asgi_delta, 1),
                "%",
                "",
                None,
                f"off {off_us:.1f} µs, on {on_us:.1f} µs of CPU per request (median of "
                f"10 alternating rounds of {ASGI_REQUESTS} requests); rounds vary by up to 50 % "
                "on this VM, so this is context, the row below is the measure",
            )
        )
        per_request = _per_request_cost()
        # Throughput is the inverse of the server's CPU per request (the HTTP server's included), so the
        # share of that CPU the metric calls take is their throughput cost.
        cheapest = statistics.median(
            area.raw["/api/monitoring/metrics"]["cpu_us_per_request"]["off"]
        )
        share = per_request / cheapest * 100
        area.raw["per_request_us"] = per_request
        area.rows.append(
            Row(
                "metric calls per request, measured in process",
                round(per_request, 2),
                "µs",
                "<= 3 % of a request",
                share <= 3,
                f"{share:.1f} % of the cheapest route's {cheapest:.0f} µs of server CPU per "
                "request (metrics off, under wrk): the throughput cost of metrics on",
            )
        )
    finally:
        for server in servers.values():
            server.stop()
        sink.close()
    area.notes.append(
        "Negative values mean the runs with metrics on were cheaper or faster: noise. Two "
        "identically configured servers measured this way differ by 4-5 % here, so the "
        "in-process row is the precise one."
    )
    return area

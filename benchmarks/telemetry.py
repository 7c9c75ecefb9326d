"""Telemetry cost: the API's request throughput with DogStatsD metrics on (sending to a UDP
socket that stands in for the agent) and off. Target from issue 7: within 3 %.

Two routes: `/api/me` (identity, the hourly-limit upsert, a handler: a typical API call) and
`/api/monitoring/metrics` (no database: the worst case for the per-request metric cost). The
two servers run side by side and are measured alternately, so drift on a noisy machine hits
both; the table keeps the median of the rounds. On 2 shared cores run-to-run noise is larger
than 3 %, so the cost is judged on the API's own CPU time per request (psutil, the database
excluded) and on the in-process cost of the metric calls: those are stable.
"""

from __future__ import annotations

import socket
import statistics
import tempfile
import time
from pathlib import Path

from ._harness import Area, Row, Server, api_argv, wrk

READY = "/api/health/ready"
SCRIPT = Path(__file__).with_name("unique_users.lua")
ROUTES = {"/api/me": SCRIPT, "/api/monitoring/metrics": None}


def _per_request_cost(n: int = 100_000) -> float:
    """µs the API's per-request metric calls take with the client on (aggregating, sending to a
    socket that accepts everything): a number that machine noise does not move."""
    from vibecode_api import telemetry
    from vibecode_api.settings import Settings

    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    telemetry.configure(Settings(dd_dogstatsd_port=sink.getsockname()[1]))
    try:
        started = time.perf_counter()
        for _ in range(n):
            telemetry.request("GET", "/api/me", 200, 0.001)
        return (time.perf_counter() - started) / n * 1e6
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
                    f"GET {route}: API CPU per request, metrics on vs off",
                    round(cpu_delta, 1),
                    "%",
                    "<= 3 %",
                    cpu_delta <= 3,
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
        per_request = _per_request_cost()
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
                f"{share:.1f} % of the cheapest route's {cheapest:.0f} µs of API CPU per request",
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

"""API core: start-to-ready (embedded database included), probe throughput per ASGI server,
and idle memory. Targets from issue 2: ready <= 3 s, idle RSS <= 128 MiB (the one API memory
limit, `vibecode_core.metric_names.API_RSS_LIMIT_BYTES`)."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from vibecode_core.metric_names import API_RSS_LIMIT_BYTES

from ._harness import Area, Row, Server, api_argv, wrk

READY = "/api/health/ready"


def _start_to_ready(data_dir: Path) -> float:
    server = Server(api_argv(), {"VIBE_DATA_DIR": str(data_dir)}, READY)
    try:
        return server.wait_ready()
    finally:
        server.stop()


def run(quick: bool = False) -> Area:
    area = Area("API core", "make bench  (benchmarks/api_core.py)")
    data = Path(tempfile.mkdtemp(prefix="vibe-bench-core-"))
    cold = _start_to_ready(data / "d")  # includes initdb of a brand-new data folder
    warm = [_start_to_ready(data / "d") for _ in range(3 if quick else 5)]
    area.rows.append(
        Row(
            "start to ready, first start (initdb + migrations)",
            round(cold, 2),
            "s",
            "<= 3 s",
            cold <= 3,
        )
    )
    median = statistics.median(warm)
    area.rows.append(
        Row(
            "start to ready, existing data folder (median)",
            round(median, 2),
            "s",
            "<= 3 s",
            median <= 3,
            f"{len(warm)} runs",
        )
    )

    seconds = 5 if quick else 10
    servers = {
        "uvicorn": api_argv(),  # what `python -m vibecode_api` runs (vibecode_api/serving.py)
        "granian": [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--factory",
            "--port",
            "{port}",
            "--log-level",
            "warning",
            "vibecode_api.app:create_app_from_env",
        ],
    }
    for name, argv in servers.items():
        server = Server(argv, {"VIBE_DATA_DIR": str(data / name), "VIBE_LOG_LEVEL": "warn"}, READY)
        try:
            server.wait_ready()
            if name == "uvicorn":
                with httpx.Client() as client:
                    for _ in range(200):
                        client.get(server.url + "/api/health")
                time.sleep(2)  # settle before sampling idle memory
                rss = server.rss_mb()
                # One worker runs in the main process; more run as its children.
                workers = [v for k, v in rss.items() if k.startswith("worker")]
                worker = max(workers, default=rss["main"])
                supervisor = f"supervisor process {rss['main']:.1f} MiB; " if workers else ""
                limit = API_RSS_LIMIT_BYTES / 2**20
                area.rows.append(
                    Row(
                        "idle RSS, API worker",
                        round(worker, 1),
                        "MiB",
                        f"<= {limit:.0f} MiB",
                        worker <= limit,
                        f"{supervisor}the MiniLM embedder process beside it "
                        f"{rss.get('embedder', 0):.1f} MiB (model loaded)",
                    )
                )
                area.raw["rss_mb"] = rss
            result = wrk(server.url + "/api/health/live", seconds=seconds)
            area.raw[f"wrk_{name}"] = result
            area.rows.append(
                Row(
                    f"GET /api/health/live, {name}, 1 worker, wrk -t1 -c50",
                    round(result["rps"]),
                    "req/s",
                    "",
                    None,
                    f"p50 {result.get('p50_ms', 0):.2f} ms, "
                    f"p99 {result.get('p99_ms', 0):.2f} ms, "
                    f"non-2xx {int(result['non2xx'])}",
                )
            )
        finally:
            server.stop()
    g, u = area.raw["wrk_granian"]["rps"], area.raw["wrk_uvicorn"]["rps"]
    area.notes.append(
        f"granian serves {g / u:.2f}x uvicorn's requests/s on this trivial route, but on the chat "
        "path uvicorn, the server `python -m vibecode_api` runs, carries as many requests and adds "
        "far less overhead: granian hands each request body from its I/O thread to the event "
        "loop across threads (vibecode_api/serving.py, gateway rows)."
    )
    return area

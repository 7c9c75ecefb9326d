"""The web console (issue 10): time to first byte of its pages and their weight, before
code-server's own assets (targets: <= 50 ms, <= 200 KB).

TTFB is measured one request at a time on a kept-alive connection (what a browser's navigation
sees on loopback), from sending the request to the first byte of the answer. The weight is every
byte the browser fetches for the page: the HTML and each script and stylesheet it references,
as served (no compression is configured; the ingress may add it).
"""

from __future__ import annotations

import http.client
import re
import statistics
import time
from typing import Any

import httpx

from ._harness import Area, Row, Server, api_argv

READY = "/api/health/ready"
ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')


def _ttfb(port: int, path: str, n: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    times = []
    try:
        for _ in range(n):
            started = time.perf_counter()
            conn.request("GET", path, headers={"Accept": "text/html"})
            response = conn.getresponse()
            response.read(1)  # the first byte has arrived
            times.append((time.perf_counter() - started) * 1000)
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{path} answered {response.status}")
    finally:
        conn.close()
    return times


def _weight(client: httpx.Client, path: str) -> dict[str, int]:
    page = client.get(path)
    page.raise_for_status()
    sizes = {"html": len(page.content)}
    for asset in sorted(set(ASSET.findall(page.text))):
        sizes[asset.split("?")[0]] = len(client.get(asset).content)
    return sizes


def _workspace_with_files(client: httpx.Client) -> str:
    ws: str = client.post("/api/workspaces", json={"name": "bench"}).json()["id"]
    for i in range(10):
        text = f"# Note {i}\n\n" + "Deploys happen on weekdays. " * 20
        client.post(
            f"/api/workspaces/{ws}/files", files={"file": (f"notes/{i}.md", text.encode())}
        ).raise_for_status()
    return ws


def run(quick: bool = False) -> Area:
    area = Area("Web console", "make bench  (benchmarks/console.py)")
    server = Server(
        api_argv(),
        {"VIBE_DEV_USER": "bench", "VIBE_SAMPLES": "false", "VIBE_LOG_LEVEL": "warn"},
        READY,
    )
    n = 50 if quick else 300
    try:
        server.wait_ready()
        with httpx.Client(base_url=server.url, timeout=60) as client:
            ws = _workspace_with_files(client)
            pages = {
                "/ (workspace list)": "/",
                "workspace page (10 files)": f"/console/workspaces/{ws}",
            }
            for label, path in pages.items():
                _ttfb(server.port, path, 20)  # warm up templates and the pool
                times = _ttfb(server.port, path, n)
                median = statistics.median(times)
                p95 = statistics.quantiles(times, n=20)[-1]
                area.raw[f"ttfb {path}"] = times
                area.rows.append(
                    Row(
                        f"console {label}: time to first byte (median)",
                        round(median, 2),
                        "ms",
                        "<= 50 ms",
                        median <= 50,
                        f"p95 {p95:.2f} ms over {n} sequential requests, kept-alive connection",
                    )
                )
            sizes: dict[str, Any] = _weight(client, f"/console/workspaces/{ws}")
        total = sum(sizes.values())
        area.raw["weight_bytes"] = sizes
        parts = ", ".join(f"{name} {size / 1024:.1f}" for name, size in sizes.items())
        area.rows.append(
            Row(
                "console workspace page weight (HTML + scripts + styles)",
                round(total / 1024, 1),
                "KB",
                "<= 200 KB",
                total <= 200 * 1024,
                f"uncompressed, before code-server's own assets: {parts} KB",
            )
        )
    finally:
        server.stop()
    return area

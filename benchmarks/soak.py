"""A short soak for the report: mixed Locust load on the embedded defaults with the API's RSS
sampled every 10 s, so that `make bench` can show RSS and p99 over time. `make soak` is the
full 10-minute run with the same verdict (growth from the first to the last minute <= 10 %);
this one is shorter so the whole report stays under 20 minutes."""

from __future__ import annotations

import csv
import statistics
import sys
import tempfile
from pathlib import Path

from vibecode_platform.telemetry import API_RSS_LIMIT_BYTES

from ._harness import Area, Row, run_command

USERS = 50


def _series(path: Path, column: str) -> list[tuple[float, float]]:
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    if column == "99%":
        rows = [r for r in rows if r["Name"] == "Aggregated" and r["99%"] not in ("N/A", "0", "")]
        return [(float(r["Timestamp"]), float(r["99%"])) for r in rows]
    return [(float(r["timestamp"]), float(r[column])) for r in rows]


def _ends(points: list[tuple[float, float]]) -> tuple[float, float]:
    start, end = points[0][0], points[-1][0]
    first = [v for t, v in points if t - start <= 60]
    last = [v for t, v in points if end - t <= 60]
    return statistics.median(first), statistics.median(last)


def run(quick: bool = False) -> Area:
    duration = "2m" if quick else "4m"
    area = Area(
        f"Soak ({duration}, {USERS} users)",
        f"make bench  (benchmarks/soak.py: python -m vibecode_loadtests.run --users {USERS} "
        f"--duration {duration} --soak); `make soak` runs 10 minutes",
    )
    out = Path(tempfile.mkdtemp(prefix="vibe-bench-soak-"))
    argv = [sys.executable, "-m", "vibecode_loadtests.run", "--users", str(USERS)]
    argv += ["--duration", duration, "--soak", "--out", str(out)]
    code, tail = run_command(argv)
    rss = _series(out / "rss.csv", "rss_mib")
    p99 = _series(out / "loadtest_stats_history.csv", "99%")
    area.raw["rss_mib"] = rss
    area.raw["p99_ms"] = p99
    area.raw["exit_code"] = code
    for name, points, unit in (("p99 latency", p99, "ms"), ("API RSS", rss, "MiB")):
        first, last = _ends(points)
        growth = (last - first) / first * 100 if first else 0.0
        area.rows.append(
            Row(
                f"{name}: last minute vs first",
                round(growth, 1),
                "%",
                "<= 10 %",
                growth <= 10,
                f"first minute {first:.1f} {unit}, last minute {last:.1f} {unit} (medians)",
            )
        )
    peak = max(v for _, v in rss)
    limit = API_RSS_LIMIT_BYTES / 2**20
    area.rows.append(
        Row(
            "API RSS, peak",
            round(peak, 1),
            "MiB",
            f"< {limit:.0f} MiB",
            peak < limit,
            f"the seeds' memory limit ({peak * 2**20 / 1e6:.1f} MB); the MiniLM embedder runs in "
            "its own process beside the API",
        )
    )
    area.notes.append(f"Locust exited {code}; its last lines: {tail}")
    return area

"""A short soak for the report: mixed Locust load on the embedded defaults with the API's RSS
sampled every 10 s, so that `make bench` can show RSS and p99 over time. `make soak` is the
full 10-minute run with the same verdict (growth from the first to the last minute <= 10 %);
this one is shorter so the whole report stays under 20 minutes."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from vibecode_core.metric_names import API_RSS_LIMIT_BYTES
from vibecode_loadtests.run import SOAK_GROWTH, minute_ends, p99_history, rss_history

from ._harness import Area, Row, run_command

USERS = 50


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
    rss = rss_history(out)
    p99 = p99_history(out)
    area.raw["rss_mib"] = rss
    area.raw["p99_ms"] = p99
    area.raw["exit_code"] = code
    for name, points, unit in (("p99 latency", p99, "ms"), ("API RSS", rss, "MiB")):
        first, last = minute_ends(points)
        growth = (last - first) / first * 100 if first else 0.0
        area.rows.append(
            Row(
                f"{name}: last minute vs first",
                round(growth, 1),
                "%",
                f"<= {SOAK_GROWTH:.0%}",
                growth <= SOAK_GROWTH * 100,
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

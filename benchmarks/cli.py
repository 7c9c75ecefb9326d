"""`vibe --help` wall time over repeated runs (issue 8: median <= 100 ms; the seeds' CLI took
115 ms against a 500 ms target). Every command imports what it drives only when it runs."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ._harness import Area, Row


def _vibe() -> list[str]:
    found = shutil.which("vibe") or str(Path(sys.executable).with_name("vibe"))
    return [found]


def run(quick: bool = False) -> Area:
    area = Area("CLI", "make bench  (benchmarks/cli.py)")
    argv = _vibe()
    for args in (["--help"], ["render", "--help"]):
        subprocess.run([*argv, *args], capture_output=True, check=True)  # warm the page cache
        times = []
        for _ in range(10 if quick else 30):
            started = time.perf_counter()
            subprocess.run([*argv, *args], capture_output=True, check=True)
            times.append((time.perf_counter() - started) * 1000)
        median = statistics.median(times)
        area.raw[" ".join(args)] = times
        area.rows.append(
            Row(
                f"vibe {' '.join(args)}, wall time (median)",
                round(median, 1),
                "ms",
                "<= 100 ms",
                median <= 100,
                f"{len(times)} runs, p90 {statistics.quantiles(times, n=10)[-1]:.1f} ms",
            )
        )
    return area

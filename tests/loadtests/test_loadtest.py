"""The load test, run for real (API on its embedded defaults, the fake provider, Locust
headless): a 30-second smoke run meets every threshold, and a run whose targets are out of
reach fails with a non-zero exit — the thresholds can fail."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from vibecode_loadtests.run import main

# The seeds' 128 MB API budget is missed while the local embedder is loaded (~300-370 MiB
# measured; README "Load tests"): `make loadtest` keeps that budget and reports it, the smoke run
# holds the API to its container's memory limit (512 MiB, infra's api.memoryLimit).
pytestmark = pytest.mark.slow

SMOKE_RSS_MB = "512"


def test_a_30_second_smoke_run_meets_every_threshold(tmp_path: Path) -> None:
    code = main(
        ["--users", "10", "--duration", "30s", "--out", str(tmp_path), "--max-rss-mb", SMOKE_RSS_MB]
    )
    checks = json.loads((tmp_path / "loadtest_thresholds.json").read_text())
    assert code == 0, [c for c in checks if not c["met"]]
    assert all(c["met"] for c in checks)
    with (tmp_path / "loadtest_stats.csv").open() as fh:
        rows = {r["Name"]: r for r in csv.DictReader(fh)}
    assert int(rows["Aggregated"]["Request Count"]) > 100
    assert int(rows["Aggregated"]["Failure Count"]) == 0
    assert (tmp_path / "loadtest.html").stat().st_size > 1000


def test_a_target_out_of_reach_fails_the_run(tmp_path: Path) -> None:
    code = main(
        [
            "--users",
            "5",
            "--duration",
            "10s",
            "--out",
            str(tmp_path),
            "--max-rss-mb",
            SMOKE_RSS_MB,
            "--p95-scale",
            "0.00001",
        ]
    )
    assert code == 1
    checks = json.loads((tmp_path / "loadtest_thresholds.json").read_text())
    assert any(c["check"].endswith(" p95") and not c["met"] for c in checks)

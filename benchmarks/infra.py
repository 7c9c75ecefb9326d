"""Infra: the Pulumi program under Pulumi's mock engine for 10, 100 and 1,000 workspaces.
Target from issue 6: <= 20 s for 1,000, growing linearly."""

from __future__ import annotations

import json
import subprocess
import sys

from ._harness import ROOT, Area, Row


def _time(users: int) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "vibecode_infra.verify",
            "--stack",
            "dev",
            "--out",
            "/dev/null",
            "--users",
            str(users),
            "--program-only",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(quick: bool = False) -> Area:
    area = Area("Infra as code", "make bench  (benchmarks/infra.py)")
    sizes = (10, 100) if quick else (10, 100, 1000)
    results = {n: _time(n) for n in sizes}
    area.raw["mock_runs"] = results
    for n, r in results.items():
        target = "<= 20 s" if n == 1000 else ""
        ok = r["seconds"] <= 20 if n == 1000 else None
        area.rows.append(
            Row(
                f"program under mocks, {n:,} generated workspaces (+2 from config)",
                r["seconds"],
                "s",
                target,
                ok,
                f"{int(r['resources']):,} resources",
            )
        )
    small, large = results[sizes[0]], results[sizes[-1]]
    per_small = small["seconds"] / small["resources"]
    per_large = large["seconds"] / large["resources"]
    area.notes.append(
        f"Per resource: {per_small * 1000:.2f} ms at {sizes[0]} workspaces, "
        f"{per_large * 1000:.2f} ms at {sizes[-1]}: "
        f"{'linear' if per_large <= per_small * 1.5 else 'super-linear'} growth. "
        "Import and engine start-up are included in each run."
    )
    return area

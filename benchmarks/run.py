"""Run every benchmark area and write docs/benchmarks.md and docs/benchmarks.json.

`python -m benchmarks.run [--quick] [--only AREA]`. The report is produced only by this
command: its numbers are the ones the run printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import asdict

from . import api_core, cli, console, gateway, infra, plots, rag, soak, telemetry, tenancy
from ._harness import ROOT, Area, machine

AREAS = {
    "api_core": api_core.run,
    "tenancy": tenancy.run,
    "gateway": gateway.run,
    "rag": rag.run,
    "infra": infra.run,
    "telemetry": telemetry.run,
    "cli": cli.run,
    "console": console.run,
    "soak": soak.run,
}


def render(areas: list[Area], command: str) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    out = [
        "# Benchmarks",
        "",
        f"Produced by `{command}` on {now}.",
        "",
        f"Machine: {machine()}.",
        "",
        "Every number below is what that run printed; re-run `make bench` to refresh.",
        "",
    ]
    for area in areas:
        out += [
            f"## {area.title}",
            "",
            f"Command: `{area.command}`",
            "",
            "| metric | value | target | met | note |",
            "| --- | --- | --- | --- | --- |",
        ]
        for r in area.rows:
            met = "" if r.ok is None else ("yes" if r.ok else "**no**")
            out.append(f"| {r.metric} | {r.value} {r.unit} | {r.target} | {met} | {r.note} |")
        out.append("")
        out += [f"- {n}" for n in area.notes]
        if area.notes:
            out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter runs, for smoke checks")
    parser.add_argument("--only", choices=sorted(AREAS), action="append")
    args = parser.parse_args()
    areas = []
    for name, fn in AREAS.items():
        if args.only and name not in args.only:
            continue
        print(f"== {name}", flush=True)
        area = fn(quick=args.quick)
        for r in area.rows:
            print(f"  {r.metric}: {r.value} {r.unit} {r.target} {r.note}", flush=True)
        areas.append(area)
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    for path in plots.render(areas, docs / "plots"):
        print(f"plot {path.relative_to(ROOT)}", flush=True)
    command = "make bench" + (" (quick)" if args.quick else "")
    (docs / "benchmarks.md").write_text(render(areas, command))
    (docs / "benchmarks.json").write_text(
        json.dumps({"machine": machine(), "areas": [asdict(a) for a in areas]}, indent=2)
    )
    print(f"wrote {docs / 'benchmarks.md'}")


if __name__ == "__main__":
    main()

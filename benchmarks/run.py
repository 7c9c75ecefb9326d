"""Run every benchmark area and write docs/benchmarks.md and docs/benchmarks.json.

`python -m benchmarks.run [--quick] [--only AREA]`. The report is produced only by this
command: its numbers are the ones the run printed. With `--only`, the named areas are measured
again and replace theirs in the report; every other area keeps its numbers and its date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import asdict
from pathlib import Path

from . import api_core, cli, console, faults, gateway, infra, plots, rag, soak, telemetry, tenancy
from ._harness import ROOT, Area, Row, machine

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
    "faults": faults.run,
}


def now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def previous(path: Path) -> list[Area]:
    """The areas of the last report, as they were measured."""
    if not path.exists():
        return []
    report = json.loads(path.read_text())
    date = report.get("produced", "")
    markdown = path.with_suffix(".md")
    if not date and markdown.exists():  # reports before `produced` was recorded
        first = next((ln for ln in markdown.read_text().splitlines() if " on " in ln), "")
        date = first.rsplit(" on ", 1)[-1].rstrip(".")
    areas = []
    for a in report.get("areas", []):
        rows = [Row(**r) for r in a.get("rows", [])]
        fields = {k: v for k, v in a.items() if k != "rows"}
        areas.append(Area(**{**fields, "rows": rows, "measured": a.get("measured") or date}))
    return areas


def render(areas: list[Area], command: str) -> str:
    out = [
        "# Benchmarks",
        "",
        f"Produced by `{command}` on {now()}.",
        "",
        f"Machine: {machine()}.",
        "",
        "Every number below is what a run printed; each area says when it was measured. "
        "Re-run `make bench` to refresh them all.",
        "",
    ]
    for area in areas:
        out += [
            f"## {area.title}",
            "",
            f"Command: `{area.command}`; measured {area.measured}.",
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
    docs = ROOT / "docs"
    kept = {a.title: a for a in previous(docs / "benchmarks.json")} if args.only else {}
    areas = []
    for name, fn in AREAS.items():
        if args.only and name not in args.only:
            continue
        print(f"== {name}", flush=True)
        area = fn(quick=args.quick)
        area.measured = now()
        for r in area.rows:
            print(f"  {r.metric}: {r.value} {r.unit} {r.target} {r.note}", flush=True)
        areas.append(area)
    if kept:  # the report's order, with the re-measured areas in their places
        fresh = {a.title: a for a in areas}
        areas = [fresh.pop(a.title, a) for a in kept.values()] + list(fresh.values())
    docs.mkdir(exist_ok=True)
    for path in plots.render(areas, docs / "plots"):
        print(f"plot {path.relative_to(ROOT)}", flush=True)
    command = "make bench" + (" (quick)" if args.quick else "")
    if args.only:
        command = f"python -m benchmarks.run --only {' --only '.join(args.only)}"
    (docs / "benchmarks.md").write_text(render(areas, command))
    (docs / "benchmarks.json").write_text(
        json.dumps(
            {"machine": machine(), "produced": now(), "areas": [asdict(a) for a in areas]},
            indent=2,
        )
    )
    print(f"wrote {docs / 'benchmarks.md'}")


if __name__ == "__main__":
    main()

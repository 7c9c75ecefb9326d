"""The offline verification chain, shared by the tests and `vibe render`.

Runs the Pulumi program under Pulumi's own mock engine for a stack (plus N generated
workspaces, `verification.engine`), validates every manifest against the official Kubernetes
schemas (`verification.schemas`), scans them with checkov (`verification.policy`), and checks the
platform's rules over the cluster the stack will produce — ours, the pinned charts' and the
operators' objects (`verification.model`, `.rules`, `.flows`, `.datadog`). No cluster, no
Docker, no Pulumi CLI needed.

`render(stack, out=..., users=N)` runs the chain in a child process (the mock engine is
process-global) and returns the report; `python -m vibecode_infra.verify` is that child.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .verification import datadog, engine, flows, model, policy, rules, schemas
from .verification.model import Cluster
from .verification.report import (
    Report,
    release_report,
    releases_from_report,
    releases_of,
    write_datadog,
    write_manifests,
)

ROOT = Path(__file__).resolve().parents[2]
stack_values = engine.stack_values
__all__ = ["ROOT", "Report", "check_invariants", "releases_from_report", "render", "run_chain"]


def cluster_of(
    manifests: list[dict[str, Any]], releases: list[dict[str, Any]], cfg: Any
) -> Cluster:
    pod_cidr = (cfg.network.pod_cidrs or ["10.244.0.0/16"])[0]
    return model.build(manifests, releases_of(releases), cfg.kind, pod_cidr)


def check_invariants(
    manifests: list[dict[str, Any]],
    releases: list[dict[str, Any]],
    root: Path,
    stack_values: dict[str, Any],
) -> list[str]:
    """Every rule of `verification.rules` over the cluster the stack will produce."""
    from . import config

    cfg = config.parse(stack_values)
    cluster = cluster_of(manifests, releases, cfg)
    return rules.check(rules.Context(cluster, cfg, root))


def run_chain(
    stack: str,
    *,
    users: int = 0,
    out: Path | None = None,
    scan_policy: bool = True,
    root: Path = ROOT,
    overrides: dict[str, Any] | None = None,
) -> Report:
    from . import config

    started = time.perf_counter()
    values = stack_values(stack, root, users, overrides or {})
    manifests, releases, workspaces, recorded = engine.run_program(stack, users, root, overrides)
    report = Report(
        stack=stack,
        workspaces=workspaces,
        manifests=len(manifests),
        resources=len(manifests) + len(releases) + len(recorded),
        releases=release_report(releases),
    )
    version = str(values.get("kubernetesVersion", "1.31"))
    report.schema_errors = schemas.validate_schemas(manifests, version)
    cfg = config.parse(values)
    cluster = cluster_of(manifests, releases, cfg)
    report.invariant_failures = rules.check(rules.Context(cluster, cfg, root))
    report.connectivity = flows.judge(cluster, cfg)
    report.invariant_failures += datadog.check(cfg, manifests, releases, recorded)
    report.datadog = datadog.summary(recorded)
    target = out or Path(tempfile.mkdtemp(prefix=f"vibe-render-{stack}-"))
    write_manifests(manifests, target / "manifests")
    write_datadog(recorded, target / "datadog")
    if scan_policy:
        result = policy.scan(target / "manifests")
        report.policy_failures, report.policy_skipped = result.failures, result.skipped
        report.policy_ran = result.ran
    report.seconds = round(time.perf_counter() - started, 2)
    (target / "report.json").write_text(json.dumps(report.to_json(), indent=2))
    return report


def render(
    stack: str,
    *,
    out: Path,
    users: int = 0,
    policy: bool = True,
    root: Path = ROOT,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The chain in a child process (the mock engine is process-global); the report."""
    out.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "vibecode_infra.verify",
        "--stack",
        stack,
        "--out",
        str(out),
        "--users",
        str(users),
        "--root",
        str(root),
    ]
    if not policy:
        argv.append("--no-policy")
    if overrides:
        argv += ["--set-json", json.dumps(overrides)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    report_file = out / "report.json"
    if not report_file.exists():
        raise RuntimeError(f"the verification chain failed: {done.stderr.strip()[-2000:]}")
    report: dict[str, Any] = json.loads(report_file.read_text())
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description="offline verification of a stack")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--users", type=int, default=0)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--no-policy", action="store_true")
    parser.add_argument(
        "--set-json",
        type=json.loads,
        default={},
        help='override stack config, e.g. \'{"datadog": {"enabled": false}}\'',
    )
    parser.add_argument(
        "--program-only",
        action="store_true",
        help="only run the program under mocks and time it (benchmarks)",
    )
    args = parser.parse_args()
    if args.program_only:
        started = time.perf_counter()
        found, releases, workspaces, recorded = engine.run_program(
            args.stack, args.users, args.root, args.set_json
        )
        print(
            json.dumps(
                {
                    "workspaces": workspaces,
                    "resources": len(found) + len(releases) + len(recorded),
                    "seconds": round(time.perf_counter() - started, 3),
                }
            )
        )
        return
    report = run_chain(
        args.stack,
        users=args.users,
        out=args.out,
        scan_policy=not args.no_policy,
        root=args.root,
        overrides=args.set_json,
    )
    print(json.dumps({"ok": report.ok, "manifests": report.manifests, "seconds": report.seconds}))
    raise SystemExit(0 if report.ok else 1)


if __name__ == "__main__":
    main()

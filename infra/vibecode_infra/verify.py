"""The offline verification chain, shared by the tests and `vibe render`.

Runs the Pulumi program under Pulumi's own mock engine for a stack (plus N generated
workspaces), collects every declared object, turns each Kubernetes object into its manifest,
validates it against the official Kubernetes schemas for the target version (strict: unknown
fields fail), scans the manifests with checkov's Kubernetes checks (skips only inline, with a
reason), and asserts the platform's invariants. No cluster, no Docker, no Pulumi CLI needed.

`render(stack, out=..., users=N)` runs the chain in a child process (the mock engine is
process-global) and returns the report; `python -m vibecode_infra.verify` is that child.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .verification import flows, model, rules
from .verification.model import Cluster, Release

ROOT = Path(__file__).resolve().parents[2]
CHECKOV_ENV = "VIBE_CHECKOV"


@dataclass
class Report:
    stack: str
    workspaces: int = 0
    resources: int = 0
    manifests: int = 0
    releases: list[dict[str, Any]] = field(default_factory=list)
    schema_errors: list[str] = field(default_factory=list)
    policy_failures: list[str] = field(default_factory=list)
    policy_skipped: list[str] = field(default_factory=list)
    policy_ran: bool = False
    invariant_failures: list[str] = field(default_factory=list)
    connectivity: list[dict[str, Any]] = field(default_factory=list)
    datadog: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.schema_errors or self.policy_failures or self.invariant_failures)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


# -- running the program under mocks ------------------------------------------------------------
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # noqa: S105 - a marker, not a secret
"""How Pulumi marks a secret value on the wire: {SECRET_SIG: ..., "value": ...}."""


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return "(secret)" if isinstance(value, str) else value


def _ints(value: Any) -> Any:
    """The mock engine hands integers over as floats (`replicas: 2.0`); secrets are unwrapped
    and masked, so a rendered manifest never carries one."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return _masked(_ints(value.get("value")))
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


def _scrub(value: Any, secrets: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, str) and any(s in value for s in secrets):
        return "(secret)"
    return value


MOCK_SECRETS = ("datadogApiKey", "datadogAppKey", "backupAccessKeyId", "backupSecretAccessKey")
"""Secret config a real stack sets with `pulumi config set --secret`; placeholders under mocks."""


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` over `base`, nested dicts merged (how `--set-json` overrides stack config)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def stack_values(stack: str, root: Path, users: int, overrides: dict[str, Any]) -> dict[str, Any]:
    """The stack file's `vibecode:` values, overridden, plus N generated workspaces."""
    from . import config

    values = merge(config.stack_file(stack, root), overrides)
    values["workspaces"] = list(values.get("workspaces") or []) + [
        {"user": f"user{i}", "workspace": f"ws{i}", "tier": "premium" if i % 5 == 0 else "free"}
        for i in range(users)
    ]
    return values


def _run_program(
    stack: str, users: int, root: Path, overrides: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int, list[dict[str, Any]]]:
    import pulumi

    from . import config

    recorded: list[tuple[str, str, dict[str, Any]]] = []
    generated: set[str] = {"mock-" + key for key in MOCK_SECRETS}
    """Secret values the mocks make up: Pulumi marks a RandomPassword's result secret, but the
    mock engine does not, so they are masked wherever they reach (a chart's values)."""

    class Recorder(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
            recorded.append((args.typ, args.name, dict(args.inputs)))
            outputs = dict(args.inputs)
            if args.typ == "datadog:index/monitor:Monitor":
                return str(len(recorded)), outputs  # Datadog monitor ids are integers
            if "apiVersion" in outputs:  # CustomResource.api_version resolves from outputs
                outputs["api_version"] = outputs["apiVersion"]
            if args.typ == "random:index/randomPassword:RandomPassword":
                outputs["result"] = f"mock-secret-{len(generated):04d}-" + "x" * 32
                outputs["bcryptHash"] = f"$2a$10$mock{len(generated):04d}" + "x" * 45
                generated.update((outputs["result"], outputs["bcryptHash"]))
            return f"{args.name}-id", outputs

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, None]:
            return {}, None

    values = stack_values(stack, root, users, overrides or {})
    pulumi.runtime.set_mocks(Recorder(), project="vibecode", stack=stack, preview=False)
    for key, value in values.items():
        pulumi.runtime.set_config(
            f"vibecode:{key}", value if isinstance(value, str) else json.dumps(value)
        )
    for key in MOCK_SECRETS:
        pulumi.runtime.set_config(f"vibecode:{key}", "mock-" + key)
    cfg = config.parse(values)

    from .program import build

    @pulumi.runtime.test
    def program() -> None:
        build(root)

    cwd = Path.cwd()
    os.chdir(root)
    try:
        program()
    finally:
        os.chdir(cwd)
    manifests, releases, datadog = [], [], []
    for typ, name, inputs in recorded:
        clean = _scrub(_ints(inputs), generated)
        if typ == "kubernetes:helm.sh/v3:Release":
            releases.append({**clean, "resourceName": name})
        elif typ.startswith("kubernetes:") and "apiVersion" in inputs:
            manifests.append(clean)
        elif typ.startswith("datadog:"):
            datadog.append({**clean, "resourceType": typ, "resourceName": name})
    return manifests, releases, len(cfg.all_workspaces(root)), datadog


# -- schemas --------------------------------------------------------------------------------------
CRD_REQUIRED = {
    ("cert-manager.io/v1", "ClusterIssuer"): ["spec"],
    ("cert-manager.io/v1", "Certificate"): ["spec.secretName", "spec.issuerRef.name"],
    ("postgresql.cnpg.io/v1", "Cluster"): ["spec.instances", "spec.storage.size"],
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): ["spec.schedule", "spec.cluster.name"],
    # From the CRD's schema (datadog-crds 1.7.2, datadoghq.com_datadogmetrics_v1.yaml).
    ("datadoghq.com/v1alpha1", "DatadogMetric"): ["spec.query"],
}


def _get(obj: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def _all(obj: Any, dotted: str) -> list[Any]:
    """Every value at `dotted`, where `name[]` walks each item of a list (an empty or missing
    list yields one None: a required list must have items)."""
    head, _, rest = dotted.partition(".")
    if head.endswith("[]"):
        items = _get(obj, head[:-2])
        if not isinstance(items, list) or not items:
            return [None]
        return [v for item in items for v in (_all(item, rest) if rest else [item])]
    value = _get(obj, head)
    return _all(value, rest) if rest and value is not None else [value]


def _ident(m: dict[str, Any]) -> str:
    meta = m.get("metadata", {})
    ns = meta.get("namespace")
    return f"{m['kind']}/{ns + '/' if ns else ''}{meta.get('name')}"


def validate_schemas(manifests: list[dict[str, Any]], version: str) -> list[str]:
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

    errors = []
    for m in manifests:
        key = (m["apiVersion"], m["kind"])
        if key in CRD_REQUIRED:
            errors += [
                f"{_ident(m)}: missing {path}"
                for path in CRD_REQUIRED[key]
                if any(v in (None, "", []) for v in _all(m, path))
            ]
            continue
        try:
            kubernetes_validate.validate(m, version, strict=True)
        except ValidationError as err:
            errors.append(f"{_ident(m)}: {err.message}")
        except SchemaNotFoundError:
            errors.append(
                f"{_ident(m)}: no schema for {m['apiVersion']} {m['kind']} "
                f"in Kubernetes {version} (and not a known CRD)"
            )
    return errors


# -- policy (checkov) -----------------------------------------------------------------------------
def checkov_bin() -> str | None:
    explicit = os.environ.get(CHECKOV_ENV)
    if explicit:
        return explicit
    local = ROOT / ".tools/checkov/bin/checkov"
    return str(local) if local.exists() else shutil.which("checkov")


def scan(directory: Path) -> tuple[list[str], list[str], bool]:
    exe = checkov_bin()
    if exe is None:
        return [], [], False
    env = {
        **os.environ,
        "BC_SKIP_MAPPING": "TRUE",
        "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
        "LOG_LEVEL": "ERROR",
    }
    done = subprocess.run(
        [
            exe,
            "-d",
            str(directory),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--compact",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    try:
        parsed = json.loads(done.stdout or "{}")
    except ValueError:
        return (
            [f"checkov did not answer JSON (exit {done.returncode}): {done.stderr.strip()[-300:]}"],
            [],
            True,
        )
    reports = parsed if isinstance(parsed, list) else [parsed]
    failures, skipped = [], []
    for report in reports:
        results = report.get("results", {}) if isinstance(report, dict) else {}
        for check in results.get("failed_checks", []):
            failures.append(f"{check['check_id']} {check.get('resource')}: {check['check_name']}")
        for check in results.get("skipped_checks", []):
            reason = (check.get("check_result") or {}).get("suppress_comment", "")
            skipped.append(f"{check['check_id']} {check.get('resource')}: {reason}")
    return failures, skipped, True


# -- invariants -------------------------------------------------------------------------------------
def releases_of(recorded: list[dict[str, Any]]) -> list[Release]:
    return [
        Release(
            name=r.get("name"),
            resource=r["resourceName"],
            chart=str(r.get("chart", "")),
            version=str(r.get("version", "")),
            repo=str((r.get("repositoryOpts") or {}).get("repo", "")),
            namespace=str(r.get("namespace", "")),
            values=r.get("values") or {},
        )
        for r in recorded
    ]


def releases_from_report(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report's releases back in the recorded form (to re-check a rendered stack)."""
    return [
        {
            "resourceName": e["resource"],
            "name": e["releaseName"],
            "chart": e["chart"],
            "version": e["version"],
            "repositoryOpts": {"repo": e["repo"]},
            "namespace": e["namespace"],
            "values": e["values"],
        }
        for e in entries
    ]


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


def release_report(recorded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each release as Helm installs it: where from, where to, under which name (None when it
    would be generated), with the values we give it (secrets masked)."""
    return [
        {
            "resource": r.resource,
            "repo": r.repo,
            "chart": r.chart,
            "version": r.version,
            "namespace": r.namespace,
            "releaseName": r.name,
            "values": r.values,
        }
        for r in releases_of(recorded)
    ]


# -- the chain ----------------------------------------------------------------------------------
def write_manifests(manifests: list[dict[str, Any]], out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)  # a previous render's files must not be scanned as this one's
    out.mkdir(parents=True)
    for i, m in enumerate(manifests):
        meta = m["metadata"]
        name = f"{i:05d}-{m['kind'].lower()}-{meta.get('namespace', 'cluster')}-{meta['name']}"
        (out / f"{re.sub(r'[^A-Za-z0-9._-]', '_', name)}.yaml").write_text(
            yaml.safe_dump(m, sort_keys=False)
        )


def write_datadog(resources: list[dict[str, Any]], out: Path) -> None:
    """Monitors, dashboards and SLOs as JSON, one file each (secrets never reach them)."""
    if out.exists():
        shutil.rmtree(out)
    if not resources:
        return
    out.mkdir(parents=True)
    for r in resources:
        kind = r["resourceType"].rsplit(":", 1)[-1].lower()
        (out / f"{kind}-{r['resourceName']}.json").write_text(
            json.dumps(r, indent=2, sort_keys=True)
        )


def run_chain(
    stack: str,
    *,
    users: int = 0,
    out: Path | None = None,
    policy: bool = True,
    root: Path = ROOT,
    overrides: dict[str, Any] | None = None,
) -> Report:
    from . import config, verify_datadog

    started = time.perf_counter()
    values = stack_values(stack, root, users, overrides or {})
    manifests, releases, workspaces, datadog = _run_program(stack, users, root, overrides)
    report = Report(
        stack=stack,
        workspaces=workspaces,
        manifests=len(manifests),
        resources=len(manifests) + len(releases) + len(datadog),
        releases=release_report(releases),
    )
    version = str(values.get("kubernetesVersion", "1.31"))
    report.schema_errors = validate_schemas(manifests, version)
    cfg = config.parse(values)
    cluster = cluster_of(manifests, releases, cfg)
    report.invariant_failures = rules.check(rules.Context(cluster, cfg, root))
    report.connectivity = flows.judge(cluster, cfg)
    report.invariant_failures += verify_datadog.check(cfg, manifests, releases, datadog)
    report.datadog = verify_datadog.summary(datadog)
    target = out or Path(tempfile.mkdtemp(prefix=f"vibe-render-{stack}-"))
    write_manifests(manifests, target / "manifests")
    write_datadog(datadog, target / "datadog")
    if policy:
        failures, skipped, ran = scan(target / "manifests")
        report.policy_failures, report.policy_skipped, report.policy_ran = failures, skipped, ran
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
        found, releases, workspaces, datadog = _run_program(
            args.stack, args.users, args.root, args.set_json
        )
        print(
            json.dumps(
                {
                    "workspaces": workspaces,
                    "resources": len(found) + len(releases) + len(datadog),
                    "seconds": round(time.perf_counter() - started, 3),
                }
            )
        )
        return
    report = run_chain(
        args.stack,
        users=args.users,
        out=args.out,
        policy=not args.no_policy,
        root=args.root,
        overrides=args.set_json,
    )
    print(json.dumps({"ok": report.ok, "manifests": report.manifests, "seconds": report.seconds}))
    raise SystemExit(0 if report.ok else 1)


if __name__ == "__main__":
    main()

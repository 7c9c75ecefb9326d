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


MOCK_SECRETS = ("datadogApiKey", "datadogAppKey")
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

    class Recorder(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
            recorded.append((args.typ, args.name, dict(args.inputs)))
            outputs = dict(args.inputs)
            if args.typ == "datadog:index/monitor:Monitor":
                return str(len(recorded)), outputs  # Datadog monitor ids are integers
            if "apiVersion" in outputs:  # CustomResource.api_version resolves from outputs
                outputs["api_version"] = outputs["apiVersion"]
            if args.typ == "random:index/randomPassword:RandomPassword":
                outputs["result"] = "x" * int(args.inputs.get("length", 16))
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
        if typ == "kubernetes:helm.sh/v3:Release":
            releases.append({"name": name, **_ints(inputs)})
        elif typ.startswith("kubernetes:") and "apiVersion" in inputs:
            manifests.append(_ints(inputs))
        elif typ.startswith("datadog:"):
            datadog.append({**_ints(inputs), "resourceType": typ, "resourceName": name})
    return manifests, releases, len(cfg.all_workspaces(root)), datadog


# -- schemas --------------------------------------------------------------------------------------
CRD_REQUIRED = {
    ("cert-manager.io/v1", "ClusterIssuer"): ["spec"],
    ("cert-manager.io/v1", "Certificate"): ["spec.secretName", "spec.issuerRef.name"],
    ("postgresql.cnpg.io/v1", "Cluster"): ["spec.instances", "spec.storage.size"],
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): ["spec.schedule", "spec.cluster.name"],
    # From the CRDs' `required` lists (watermarkpodautoscaler v1alpha1; datadog-crds v1alpha2).
    ("datadoghq.com/v1alpha1", "WatermarkPodAutoscaler"): [
        "spec.scaleTargetRef.kind",
        "spec.scaleTargetRef.name",
        "spec.metrics[].type",
        "spec.metrics[].external.metricName",
    ],
    ("datadoghq.com/v1alpha2", "DatadogPodAutoscaler"): [
        "spec.owner",
        "spec.targetRef.kind",
        "spec.targetRef.name",
        "spec.objectives[].type",
        "spec.objectives[].customQuery.request.queries[].source",
        "spec.objectives[].customQuery.request.queries[].metrics.query",
        "spec.objectives[].customQuery.value.type",
        "spec.objectives[].customQuery.window",
        "spec.applyPolicy.scaleUp.rules[].type",
        "spec.applyPolicy.scaleUp.rules[].value",
        "spec.applyPolicy.scaleUp.rules[].periodSeconds",
        "spec.applyPolicy.scaleDown.rules[].type",
        "spec.applyPolicy.scaleDown.rules[].value",
        "spec.applyPolicy.scaleDown.rules[].periodSeconds",
    ],
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
WORKSPACE_NS = re.compile(r"^user-.+-ws-.+$")
AUTH_KEYS = (
    "nginx.ingress.kubernetes.io/auth-url",
    "nginx.ingress.kubernetes.io/auth-signin",
    "nginx.ingress.kubernetes.io/auth-response-headers",
)
SNIPPETS = ("configuration-snippet", "server-snippet", "auth-snippet", "stream-snippet")
TAGS = ("tags.datadoghq.com/env", "tags.datadoghq.com/service", "tags.datadoghq.com/version")


def _pod_specs(m: dict[str, Any]) -> dict[str, Any] | None:
    if m["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return _get(m, "spec.template.spec")
    if m["kind"] == "Pod":
        return m.get("spec")
    return None


def check_invariants(
    manifests: list[dict[str, Any]],
    releases: list[dict[str, Any]],
    root: Path,
    stack_values: dict[str, Any],
) -> list[str]:
    from vibecode_platform.tenancy import tier, workspace_namespace

    from . import config

    failures: list[str] = []
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for m in manifests:
        by_kind.setdefault(m["kind"], []).append(m)

    def in_ns(kind: str, ns: str) -> list[dict[str, Any]]:
        return [m for m in by_kind.get(kind, []) if m["metadata"].get("namespace") == ns]

    namespaces = [m["metadata"]["name"] for m in by_kind.get("Namespace", [])]
    for ns in namespaces:
        denies = [
            p
            for p in in_ns("NetworkPolicy", ns)
            if p["spec"].get("podSelector") == {}
            and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress")
            and not p["spec"].get("egress")
        ]
        if not denies:
            failures.append(f"namespace {ns}: no default-deny NetworkPolicy")
        if WORKSPACE_NS.match(ns):
            if not in_ns("ResourceQuota", ns):
                failures.append(f"workspace namespace {ns}: no ResourceQuota")
            if not in_ns("LimitRange", ns):
                failures.append(f"workspace namespace {ns}: no LimitRange")
            labels = next(m for m in by_kind["Namespace"] if m["metadata"]["name"] == ns)[
                "metadata"
            ].get("labels", {})
            if labels.get("pod-security.kubernetes.io/enforce") != "restricted":
                failures.append(f"workspace namespace {ns}: not Pod Security restricted")

    for m in manifests:
        pod = _pod_specs(m)
        if pod is None:
            continue
        who = _ident(m)
        pod_ctx = pod.get("securityContext", {})
        for c in pod.get("containers", []) + pod.get("initContainers", []):
            ctx = c.get("securityContext", {})
            name = f"{who} container {c['name']}"
            if not (_get(c, "resources.requests") and _get(c, "resources.limits")):
                failures.append(f"{name}: requests and limits are required")
            if c in pod.get("containers", []) and not (
                c.get("livenessProbe") and c.get("readinessProbe")
            ):
                failures.append(f"{name}: liveness and readiness probes are required")
            if not (ctx.get("runAsNonRoot") or pod_ctx.get("runAsNonRoot")):
                failures.append(f"{name}: must run as non-root")
            if ctx.get("allowPrivilegeEscalation") is not False:
                failures.append(f"{name}: allowPrivilegeEscalation must be false")
            seccomp = ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}
            if seccomp.get("type") != "RuntimeDefault":
                failures.append(f"{name}: seccomp must be RuntimeDefault")
            if ctx.get("readOnlyRootFilesystem") is not True:
                failures.append(f"{name}: read-only root filesystem expected")
        labels = m["metadata"].get("labels", {})
        template_labels = _get(m, "spec.template.metadata.labels") or {}
        for tag in TAGS:
            if tag not in labels or tag not in template_labels:
                failures.append(f"{who}: Datadog tag {tag} missing on the workload or its pods")

    for ing in by_kind.get("Ingress", []):
        annotations = ing["metadata"].get("annotations", {})
        missing = [k for k in AUTH_KEYS if k not in annotations]
        if missing:
            failures.append(f"{_ident(ing)}: not behind Authelia (missing {', '.join(missing)})")
        if any(k.endswith(SNIPPETS) for k in annotations):
            failures.append(f"{_ident(ing)}: snippet annotations are not allowed")
        if not _get(ing, "spec.tls"):
            failures.append(f"{_ident(ing)}: no TLS")

    # Names and tier numbers come from their one source.
    cfg = config.parse(stack_values)
    for spec in cfg.all_workspaces(root):
        ns = workspace_namespace(spec.user, spec.workspace)
        if ns not in namespaces:
            failures.append(f"workspace {spec.user}/{spec.workspace}: namespace {ns} missing")
            continue
        res = tier(spec.tier).workspace
        quotas = in_ns("ResourceQuota", ns)
        hard = quotas[0]["spec"]["hard"] if quotas else {}
        expected = {
            "limits.cpu": res.cpu_limit,
            "limits.memory": res.memory_limit,
            "requests.cpu": res.cpu_request,
            "requests.memory": res.memory_request,
            "requests.storage": res.storage,
        }
        for key, value in expected.items():
            if str(hard.get(key)) != value:
                failures.append(f"{ns}: quota {key} is {hard.get(key)}, tier says {value}")

    # Blue/green: both colours, the active Service on the configured one.
    deploys = {m["metadata"]["name"] for m in by_kind.get("Deployment", [])}
    if not {"vibecode-api-blue", "vibecode-api-green"} <= deploys:
        failures.append("api: blue and green Deployments are both required")
    active = [s for s in by_kind.get("Service", []) if s["metadata"]["name"] == "vibecode-api"]
    if (
        not active
        or active[0]["spec"]["selector"].get("vibecode.dev/color") != cfg.api.active_color
    ):
        failures.append(f"api: the active Service must select {cfg.api.active_color}")

    # The ingress controller keeps WebSockets open for an hour.
    for rel in releases:
        if rel.get("chart") == "ingress-nginx":
            conf = _get(rel, "values.controller.config") or {}
            for key in ("proxy-read-timeout", "proxy-send-timeout"):
                if str(conf.get(key)) != "3600":
                    failures.append(f"ingress-nginx: {key} must be 3600")
            if _get(rel, "values.controller.allowSnippetAnnotations") is not False:
                failures.append("ingress-nginx: snippet annotations must be disabled")
        if not rel.get("version"):
            failures.append(f"helm release {rel.get('name')}: chart version must be pinned")
    return failures


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
        releases=[
            {"name": r["name"], "chart": r.get("chart"), "version": r.get("version")}
            for r in releases
        ],
    )
    version = str(values.get("kubernetesVersion", "1.31"))
    report.schema_errors = validate_schemas(manifests, version)
    report.invariant_failures = check_invariants(manifests, releases, root, values)
    report.invariant_failures += verify_datadog.check(
        config.parse(values), manifests, releases, datadog
    )
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

"""The Pulumi program, proven offline: both stacks through the whole verification chain, and the
decisions each component makes, read from the manifests the mock engine captured."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from vibecode_infra import config
from vibecode_infra.verification.policy import checkov_bin
from vibecode_infra.verify import ROOT, render

pytestmark = pytest.mark.slow


def manifests(out: Path) -> list[dict[str, Any]]:
    return [yaml.safe_load(p.read_text()) for p in sorted((out / "manifests").glob("*.yaml"))]


def find(ms: list[dict[str, Any]], kind: str, name: str, ns: str | None = None) -> dict[str, Any]:
    for m in ms:
        meta = m["metadata"]
        if (
            m["kind"] == kind
            and meta["name"] == name
            and (ns is None or meta.get("namespace") == ns)
        ):
            return m
    raise AssertionError(f"no {kind} {name}")


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, Any], Path]:
    out = tmp_path_factory.mktemp(f"render-{request.param}")
    return request.param, render(request.param, out=out, users=3), out


def test_both_stacks_pass_schemas_policy_and_invariants(
    stack: tuple[str, dict[str, Any], Path],
) -> None:
    _name, report, _ = stack
    assert report["schema_errors"] == []
    assert report["invariant_failures"] == []
    if checkov_bin() is None:
        pytest.fail("checkov is not installed: `make checkov` (its own virtualenv)")
    assert report["policy_ran"] is True
    assert report["policy_failures"] == []
    # Every skip is inline and carries its reason.
    assert all("=" not in s and len(s.split(": ", 1)[1]) > 20 for s in report["policy_skipped"])
    assert report["ok"] is True
    assert report["workspaces"] == 5  # two from the stack (file) + three generated


def test_every_workload_is_hardened_and_tagged(stack: tuple[str, dict[str, Any], Path]) -> None:
    _, _, out = stack
    for m in manifests(out):
        if m["kind"] != "Deployment":
            continue
        pod = m["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for c in pod["containers"]:
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
            assert c["resources"]["limits"]
            assert c["resources"]["requests"]
        assert m["metadata"]["labels"]["tags.datadoghq.com/env"] in ("dev", "prod")


def test_blue_green_services_select_the_configured_colours(
    stack: tuple[str, dict[str, Any], Path],
) -> None:
    _, _, out = stack
    ms = manifests(out)
    assert (
        find(ms, "Service", "vibecode-api", "vibecode")["spec"]["selector"]["vibecode.dev/color"]
        == "blue"
    )
    assert (
        find(ms, "Service", "vibecode-api-preview", "vibecode")["spec"]["selector"][
            "vibecode.dev/color"
        ]
        == "green"
    )
    blue = find(ms, "Deployment", "vibecode-api-blue", "vibecode")
    probes = blue["spec"]["template"]["spec"]["containers"][0]
    assert probes["livenessProbe"]["httpGet"]["path"] == "/api/health/live"
    assert probes["readinessProbe"]["httpGet"]["path"] == "/api/health/ready"
    containers = {c["name"]: c for c in blue["spec"]["template"]["spec"]["containers"]}
    threads = {e["name"]: e for e in containers["embedder"]["env"]}["VIBE_EMBEDDER_THREADS"]
    assert threads["valueFrom"]["resourceFieldRef"]["resource"] == "limits.cpu"  # not the node's
    assert find(ms, "PodDisruptionBudget", "vibecode-api", "vibecode")


def test_workspaces_get_quota_from_their_tier_and_sessions_own_replicas(
    stack: tuple[str, dict[str, Any], Path],
) -> None:
    from vibecode_core.tenancy import tier, workspace_namespace

    name, _, out = stack
    ms = manifests(out)
    ns = workspace_namespace("user0", "ws0")  # generated: user0 is premium (i % 5 == 0)
    hard = find(ms, "ResourceQuota", "workspace-quota", ns)["spec"]["hard"]
    if name == "dev":  # the self-signed CA: no solver pods, exactly one code-server's worth
        assert hard["limits.memory"] == tier("premium").workspace.memory_limit
    else:  # ACME: room for cert-manager's HTTP-01 solver (limits 100m / 64Mi) beside it
        assert (hard["limits.memory"], hard["limits.cpu"]) == ("4160Mi", "2100m")
        assert (hard["requests.memory"], hard["requests.cpu"]) == ("1088Mi", "510m")
    deploy = find(ms, "Deployment", "code-server", ns)
    assert deploy["spec"]["replicas"] == 0
    assert deploy["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    ingress = find(ms, "Ingress", "code-server", ns)
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == "3600"
    assert (
        annotations["nginx.ingress.kubernetes.io/auth-response-headers"]
        == "Remote-User,Remote-Name,Remote-Groups,Remote-Email"
    )
    egress = find(ms, "NetworkPolicy", f"{ns}-traffic", ns)["spec"]["egress"]
    blocked = egress[1]["to"][0]["ipBlock"]["except"]
    assert "169.254.169.254/32" in blocked
    assert "10.0.0.0/8" in blocked


def test_prod_differs_where_it_should(tmp_path: Path) -> None:
    dev = config.parse(config.stack_file("dev", ROOT))
    prod = config.parse(config.stack_file("prod", ROOT))
    assert (dev.kind, dev.tls.issuer, dev.database.backups.enabled) == (True, "selfsigned", False)
    assert (prod.kind, prod.tls.issuer, prod.database.backups.enabled) == (False, "acme", True)
    assert prod.tls.hsts is True


def _stack_root(tmp_path: Path, overrides: dict[str, Any]) -> Path:
    shutil.copy(ROOT / "Pulumi.yaml", tmp_path / "Pulumi.yaml")
    data = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    for key, value in overrides.items():
        data["config"][f"vibecode:{key}"] = value
    (tmp_path / "Pulumi.test.yaml").write_text(yaml.safe_dump(data))
    return tmp_path


def test_a_flip_to_green_moves_the_active_service(tmp_path: Path) -> None:
    api = {
        "activeColor": "green",
        "replicas": 1,
        "images": {"blue": "vibecode/api:0.1.0", "green": "vibecode/api:0.2.0"},
    }
    root = _stack_root(tmp_path, {"api": api})
    report = render("test", out=tmp_path / "out", root=root, policy=False)
    assert report["ok"], report
    ms = manifests(tmp_path / "out")
    assert find(ms, "Service", "vibecode-api")["spec"]["selector"]["vibecode.dev/color"] == "green"
    green = find(ms, "Deployment", "vibecode-api-green")
    assert green["spec"]["template"]["spec"]["containers"][0]["image"] == "vibecode/api:0.2.0"
    assert green["metadata"]["labels"]["tags.datadoghq.com/version"] == "0.2.0"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"environment": "staging", "domain": "x.io"}, "vibecode:environment:"),
        (
            {"environment": "dev", "domain": "x.io", "api": {"activeColor": "red"}},
            "vibecode:api.activeColor:",
        ),
        (
            {"environment": "dev", "domain": "x.io", "tls": {"issuer": "acme"}},
            "tls.acmeEmail is required",
        ),
        (
            {"environment": "dev", "domain": "x.io", "kubernetesVersion": "1.12"},
            "kubernetesVersion must be 1.25-1.37",
        ),
        (
            {
                "environment": "dev",
                "domain": "x.io",
                "workspaces": [{"user": "a", "workspace": "b", "tier": "gold"}],
            },
            "vibecode:workspaces.0.tier:",
        ),
    ],
)
def test_a_wrong_config_value_names_the_key_and_what_is_allowed(
    values: dict[str, Any], message: str
) -> None:
    with pytest.raises(config.ConfigError) as err:
        config.parse(values)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_a_policy_violation_fails_the_chain(tmp_path: Path) -> None:
    """The chain can fail: a privileged pod smuggled into the rendered set is caught."""
    from vibecode_infra.verification.policy import scan
    from vibecode_infra.verification.report import write_manifests
    from vibecode_infra.verify import check_invariants

    bad = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "bad", "namespace": "vibecode", "labels": {}},
        "spec": {
            "selector": {"matchLabels": {"a": "b"}},
            "template": {
                "metadata": {"labels": {"a": "b"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            },
        },
    }
    failures = check_invariants([bad], [], ROOT, config.stack_file("dev", ROOT))
    assert any("requests and limits are required" in f for f in failures)
    assert any("must run as non-root" in f for f in failures)
    write_manifests([bad], tmp_path)
    result = scan(tmp_path)
    assert result.ran
    assert any(f.startswith("CKV_K8S_") for f in result.failures)

"""The chain sees what a real cluster would do with the program: what each named Helm release
renders, what the operators create, what Pod Security admits, and which flows the
NetworkPolicies allow. Each test asserts the fixed program holds and puts one defect a review
of the pinned upstream sources found back into the rendered stack: the chain must name it.
The mutation is the program as it was before the fix, so each rule is shown failing on it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from vibecode_infra import config
from vibecode_infra.components import charts
from vibecode_infra.components.ingress import KIND_NODE_PORTS
from vibecode_infra.verify import ROOT, check_invariants, releases_from_report, render, stack_values

Mutation = Callable[[list[dict[str, Any]], list[dict[str, Any]]], None]


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["dev", "prod"])
def rendered(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp(f"realism-{request.param}")
    report = render(request.param, out=out, users=2, policy=False)
    ms = [yaml.safe_load(p.read_text()) for p in sorted((out / "manifests").glob("*.yaml"))]
    return request.param, report, ms


@pytest.fixture(scope="module")
def dev(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("realism-dev-only")
    report = render("dev", out=out, users=2, policy=False)
    ms = [yaml.safe_load(p.read_text()) for p in sorted((out / "manifests").glob("*.yaml"))]
    return "dev", report, ms


@pytest.fixture(scope="module")
def prod(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("realism-prod-only")
    report = render("prod", out=out, users=2, policy=False)
    ms = [yaml.safe_load(p.read_text()) for p in sorted((out / "manifests").glob("*.yaml"))]
    return "prod", report, ms


def failures(
    stack: tuple[str, dict[str, Any], list[dict[str, Any]]], mutate: Mutation | None = None
) -> list[str]:
    name, report, ms = stack
    ms, releases = copy.deepcopy(ms), copy.deepcopy(report["releases"])
    if mutate:
        mutate(ms, releases)
    values = stack_values(name, ROOT, 2, {})
    return check_invariants(ms, releases_from_report(releases), ROOT, values)


def obj(ms: list[dict[str, Any]], kind: str, name: str, ns: str | None = None) -> dict[str, Any]:
    return next(
        m
        for m in ms
        if m["kind"] == kind
        and m["metadata"]["name"] == name
        and (ns is None or m["metadata"].get("namespace") == ns)
    )


def release(releases: list[dict[str, Any]], chart: str) -> dict[str, Any]:
    return next(r for r in releases if r["chart"] == chart)


def containers(m: dict[str, Any]) -> dict[str, dict[str, Any]]:
    spec = m["spec"]["template"]["spec"]
    return {c["name"]: c for c in spec.get("initContainers", []) + spec["containers"]}


def test_the_fixed_program_passes_every_rule(rendered: Any) -> None:
    assert failures(rendered) == []
    _, report, _ = rendered
    assert report["invariant_failures"] == []
    assert report["connectivity"]
    assert all(row["ok"] for row in report["connectivity"])


# -- 2: release names ------------------------------------------------------------------------
def test_every_release_is_reported_with_a_fixed_name_and_masked_values(rendered: Any) -> None:
    _, report, _ = rendered
    by_chart = {r["chart"]: r for r in report["releases"]}
    for chart in (
        charts.INGRESS_NGINX,
        charts.CERT_MANAGER,
        charts.AUTHELIA,
        charts.CLOUDNATIVE_PG,
    ):
        entry = by_chart[chart.name]
        assert (entry["repo"], entry["version"], entry["releaseName"]) == (
            chart.repo,
            chart.version,
            chart.release,
        )
        assert entry["namespace"]
        assert isinstance(entry["values"], dict)
    headers = by_chart["ingress-nginx"]["values"]["controller"]["proxySetHeaders"]
    assert headers == {"X-Vibe-Proxy-Secret": "(secret)"}


def test_a_generated_release_name_breaks_the_urls_that_name_its_service(dev: Any) -> None:
    def unnamed(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        release(releases, "authelia")["releaseName"] = None

    found = failures(dev, unnamed)
    assert any("helm release authelia: no fixed release name" in f for f in found)
    assert any(
        "http://authelia.authelia.svc.cluster.local names Service authelia/authelia, which "
        "nothing creates (Services in authelia: authelia-0a1b2c3d)" in f
        for f in found
    )


def test_a_url_on_a_port_its_service_does_not_serve_is_caught(dev: Any) -> None:
    def port(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        release(releases, "authelia")["values"]["service"] = {"port": 9091}

    found = failures(dev, port)
    assert any("Service authelia/authelia serves [9091], not 80" in f for f in found)


# -- 1: secrets in the pod's own namespace ---------------------------------------------------
def test_the_api_reads_its_database_secret_from_its_own_namespace(rendered: Any) -> None:
    _, _, ms = rendered
    env = {
        e["name"]: e for e in containers(obj(ms, "Deployment", "vibecode-api-blue"))["api"]["env"]
    }
    assert env["VIBE_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "vibecode-db",
        "key": "uri",
    }
    assert obj(ms, "Secret", "vibecode-db", "vibecode")
    cluster = obj(ms, "Cluster", "vibecode-db", "vibecode-data")
    assert cluster["spec"]["bootstrap"]["initdb"]["secret"] == {"name": "vibecode-db-owner"}
    owner = obj(ms, "Secret", "vibecode-db-owner", "vibecode-data")
    assert owner["type"] == "kubernetes.io/basic-auth"


def test_a_pod_referencing_the_operators_secret_across_namespaces_is_caught(dev: Any) -> None:
    def old_wiring(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        del obj(ms, "Cluster", "vibecode-db")["spec"]["bootstrap"]["initdb"]["secret"]
        for color in ("blue", "green"):
            api = containers(obj(ms, "Deployment", f"vibecode-api-{color}"))["api"]
            for env in api["env"]:
                if env["name"] == "VIBE_DATABASE_URL":
                    env["valueFrom"]["secretKeyRef"]["name"] = "vibecode-db-app"

    found = failures(dev, old_wiring)
    assert any(
        "Secret vibecode-db-app does not exist in namespace vibecode (it exists in "
        "vibecode-data; a pod reads only its own)" in f
        for f in found
    )


# -- 3, 5: Pod Security ----------------------------------------------------------------------
def test_authelia_gets_a_restricted_security_context(rendered: Any) -> None:
    _, report, _ = rendered
    pod = release(report["releases"], "authelia")["values"]["pod"]["securityContext"]
    assert pod["pod"]["runAsNonRoot"] is True
    assert pod["pod"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["container"]["capabilities"] == {"drop": ["ALL"]}
    assert pod["container"]["allowPrivilegeEscalation"] is False


def test_a_chart_pod_without_a_security_context_is_refused_by_restricted(dev: Any) -> None:
    def bare(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        del release(releases, "authelia")["values"]["pod"]["securityContext"]

    found = failures(dev, bare)
    assert any(
        "pod authelia/authelia (chart authelia): Pod Security restricted of authelia refuses it"
        in f
        and "allowPrivilegeEscalation" in f
        for f in found
    )


def test_kind_reaches_ingress_nginx_through_node_ports_not_host_ports(dev: Any) -> None:
    _, report, _ = dev
    controller = release(report["releases"], "ingress-nginx")["values"]["controller"]
    assert controller["hostPort"] == {"enabled": False}
    assert controller["service"] == {"type": "NodePort", "nodePorts": KIND_NODE_PORTS}
    kind = yaml.safe_load((ROOT / "kind-config.yaml").read_text())
    mapped = {
        m["containerPort"]: m["hostPort"]
        for node in kind["nodes"]
        for m in node.get("extraPortMappings", [])
    }
    assert mapped == {KIND_NODE_PORTS["http"]: 80, KIND_NODE_PORTS["https"]: 443}


def test_host_ports_in_a_baseline_namespace_are_refused(dev: Any) -> None:
    def host_ports(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        release(releases, "ingress-nginx")["values"]["controller"]["hostPort"] = {"enabled": True}

    found = failures(dev, host_ports)
    assert any(
        "Pod Security baseline of ingress-nginx refuses it: container ingress-nginx-controller "
        "uses host port 80" in f
        for f in found
    )


# -- 6: pull policy --------------------------------------------------------------------------
def test_pull_policy_fits_the_stack(rendered: Any) -> None:
    name, _, ms = rendered
    wanted = "IfNotPresent" if name == "dev" else "Always"
    ours = [m for m in ms if m["kind"] == "Deployment"]
    assert ours
    for m in ours:
        for c in containers(m).values():
            assert c["imagePullPolicy"] == wanted, (m["metadata"]["name"], c["name"])


def test_always_on_kind_is_caught(dev: Any) -> None:
    def always(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        containers(obj(ms, "Deployment", "vibecode-api-blue"))["api"]["imagePullPolicy"] = "Always"

    assert any("imagePullPolicy Always on KIND" in f for f in failures(dev, always))


# -- 7: ownership ----------------------------------------------------------------------------
def test_workspace_ingresses_ask_the_owner_check_for_their_owner(rendered: Any) -> None:
    from vibecode_core.tenancy import user_namespace, workspace_namespace

    name, _, ms = rendered
    cfg = config.parse(stack_values(name, ROOT, 2, {}))
    specs = cfg.all_workspaces(ROOT)
    assert len(specs) >= 3
    for spec in specs:
        ns = workspace_namespace(spec.user, spec.workspace)
        url = obj(ms, "Ingress", "code-server", ns)["metadata"]["annotations"][
            "nginx.ingress.kubernetes.io/auth-url"
        ]
        assert url == (
            "http://vibecode-api.vibecode.svc.cluster.local/api/authz/workspace"
            f"?owner={user_namespace(spec.user)}"
        )
    api_ingress = obj(ms, "Ingress", "vibecode-api", "vibecode")["metadata"]["annotations"]
    assert api_ingress["nginx.ingress.kubernetes.io/auth-url"] == (
        "http://authelia.authelia.svc.cluster.local/api/authz/auth-request"
    )


def test_a_workspace_behind_authelia_alone_is_caught(dev: Any) -> None:
    def any_user(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        for m in ms:
            if m["kind"] == "Ingress" and m["metadata"]["name"] == "code-server":
                m["metadata"]["annotations"]["nginx.ingress.kubernetes.io/auth-url"] = (
                    "http://authelia.authelia.svc.cluster.local/api/authz/auth-request"
                )

    found = failures(dev, any_user)
    assert any("does not check that the caller owns the workspace" in f for f in found)


# -- 8: users ----------------------------------------------------------------------------------
def test_an_admin_is_provisioned_from_stack_config_and_the_template_account_never(
    rendered: Any,
) -> None:
    _, report, ms = rendered
    values = release(report["releases"], "authelia")["values"]
    assert values["secret"]["additionalSecrets"] == {"authelia-users": {}}
    backend = values["configMap"]["authentication_backend"]
    assert backend["file"]["path"] == "/secrets/authelia-users/users_database.yml"
    assert backend["password_reset"] == {"disable": True}
    assert obj(ms, "Secret", "authelia-users", "authelia")


def test_the_users_file_holds_the_admin_with_its_hash() -> None:
    from vibecode_infra.components.auth import users_file

    cfg = config.parse(config.stack_file("prod", ROOT))
    users = yaml.safe_load(users_file(cfg, "$2a$10$" + "h" * 53))["users"]
    assert users["admin"]["groups"] == ["vibecode-admins"]
    assert users["admin"]["password"].startswith("$2a$10$")
    assert users["admin"]["email"] == "platform@example.com"
    assert "authelia" not in users


def test_the_template_account_and_plain_passwords_are_refused_in_config() -> None:
    base = {"environment": "dev", "domain": "x.io"}
    with pytest.raises(config.ConfigError, match="template account"):
        config.parse({**base, "auth": {"admin": {"username": "authelia"}}})
    with pytest.raises(config.ConfigError, match="passwordHash"):
        config.parse(
            {
                **base,
                "auth": {
                    "users": [{"username": "bob", "email": "b@x.io", "passwordHash": "hunter2"}]
                },
            }
        )


def test_an_unprovisioned_users_file_is_caught(dev: Any) -> None:
    def template(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        values = release(releases, "authelia")["values"]
        values["secret"].pop("additionalSecrets")
        values["configMap"]["authentication_backend"]["file"]["path"] = "/config/users_database.yml"

    assert any("template users file" in f for f in failures(dev, template))


# -- 9: proxy secret and trusted ranges --------------------------------------------------------
def test_identity_needs_the_ingress_secret_and_trusts_only_the_pod_network(dev: Any) -> None:
    _, _, ms = dev
    env = {
        e["name"]: e for e in containers(obj(ms, "Deployment", "vibecode-api-blue"))["api"]["env"]
    }
    assert env["VIBE_PROXY_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "vibecode-proxy-secret",
        "key": "secret",
    }
    data = obj(ms, "ConfigMap", "vibecode-api-env")["data"]
    assert data["VIBE_TRUSTED_PROXIES"] == "192.168.0.0/16,127.0.0.1/32"  # kind-config's podSubnet


def test_an_ingress_without_the_proxy_secret_is_caught(dev: Any) -> None:
    def no_secret(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        del release(releases, "ingress-nginx")["values"]["controller"]["proxySetHeaders"]

    assert any("does not set X-Vibe-Proxy-Secret" in f for f in failures(dev, no_secret))


# -- 10: ACME ----------------------------------------------------------------------------------
def test_prod_admits_the_acme_solver_everywhere_it_runs(prod: Any) -> None:
    _, report, _ = prod
    solvers = [r for r in report["connectivity"] if "ACME solver" in r["flow"]]
    assert {r["flow"].rsplit(" in ", 1)[1] for r in solvers} >= {"vibecode", "authelia"}
    assert len([r for r in solvers if r["flow"].endswith("-ws-main")]) == 1
    assert all(r["actual"] == "allow" for r in solvers)


def test_a_namespace_that_refuses_the_solver_or_has_no_room_for_it_is_caught(prod: Any) -> None:
    def old(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        ms[:] = [m for m in ms if not m["metadata"]["name"].endswith("-acme-solver")]
        from vibecode_core.tenancy import tier

        for m in ms:
            if m["kind"] == "ResourceQuota":
                res = tier("free").workspace
                m["spec"]["hard"].update({"limits.memory": res.memory_limit})

    found = failures(prod, old)
    assert any(
        "ingress-nginx → ACME solver in vibecode on 8089/TCP is deny, must be allow" in f
        for f in found
    )
    assert any("plus 64Mi for cert-manager's HTTP-01 solver" in f for f in found)


# -- 11: the smaller ones ----------------------------------------------------------------------
def test_a_discontinued_or_barman_less_database_image_is_caught(prod: Any) -> None:
    _, _, ms = prod
    assert obj(ms, "Cluster", "vibecode-db")["spec"]["imageName"] == (
        "ghcr.io/cloudnative-pg/postgresql:17.6-system-trixie"
    )

    def image(tag: str) -> Mutation:
        def set_image(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
            obj(ms, "Cluster", "vibecode-db")["spec"]["imageName"] = (
                f"ghcr.io/cloudnative-pg/postgresql:{tag}"
            )

        return set_image

    assert any("discontinued pipeline" in f for f in failures(prod, image("17-bookworm")))
    assert any("Barman Cloud binaries" in f for f in failures(prod, image("17.6-standard-trixie")))


def test_backups_take_their_credentials_from_a_declared_secret_and_any_s3_endpoint(
    prod: Any,
) -> None:
    _, _, ms = prod
    store = obj(ms, "Cluster", "vibecode-db")["spec"]["backup"]["barmanObjectStore"]
    assert store["endpointURL"] == "https://s3.eu-central-1.amazonaws.com"
    assert obj(ms, "Secret", "vibecode-db-backup", "vibecode-data")

    def manual(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        ms.remove(obj(ms, "Secret", "vibecode-db-backup"))

    assert any(
        "Cluster/vibecode-data/vibecode-db: Secret vibecode-db-backup does not exist" in f
        for f in failures(prod, manual)
    )


def test_the_home_volume_hides_neither_extensions_nor_the_project(dev: Any) -> None:
    _, _, ms = dev
    ws = next(m for m in ms if m["kind"] == "Deployment" and m["metadata"]["name"] == "code-server")
    found = containers(ws)
    assert found["code-server"]["args"][
        found["code-server"]["args"].index("--extensions-dir") + 1
    ] == ("/opt/vibecode/extensions")
    assert found["seed-home"]["command"] == ["sh", "-c", "cp -Rn /opt/vibecode/home/. /home/coder/"]

    def old(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        for m in ms:
            if m["kind"] == "Deployment" and m["metadata"]["name"] == "code-server":
                spec = m["spec"]["template"]["spec"]
                del spec["initContainers"]
                args = spec["containers"][0]["args"]
                i = args.index("--extensions-dir")
                del args[i : i + 2]

    found_failures = failures(dev, old)
    assert any("hides the extensions installed in the image" in f for f in found_failures)
    assert any("nothing seeds it from the image" in f for f in found_failures)


def test_the_admission_webhook_port_is_admitted(dev: Any) -> None:
    def old(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        policy = obj(ms, "NetworkPolicy", "datadog-traffic", "datadog")
        ports = policy["spec"]["ingress"][0]["ports"]
        ports[:] = [p for p in ports if p["port"] != 8000]

    assert any(
        "cluster agent (admission webhook) on 8000/TCP is deny, must be allow" in f
        for f in failures(dev, old)
    )


def test_authelia_rules_name_the_host_the_api_is_served_on(dev: Any) -> None:
    _, report, _ = dev
    rules = release(report["releases"], "authelia")["values"]["configMap"]["access_control"][
        "rules"
    ]
    assert rules[0]["domain"] == ["app.vibecode.127.0.0.1.nip.io"]

    def old(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        values = release(releases, "authelia")["values"]
        values["configMap"]["access_control"]["rules"][0]["domain"] = [
            "api.vibecode.127.0.0.1.nip.io"
        ]

    assert any(
        "names api.vibecode.127.0.0.1.nip.io, which no Ingress serves" in f
        for f in failures(dev, old)
    )


def test_the_dev_disruption_budget_lets_nodes_drain(dev: Any) -> None:
    _, _, ms = dev
    assert obj(ms, "PodDisruptionBudget", "vibecode-api")["spec"]["maxUnavailable"] == 1

    def old(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        spec = obj(ms, "PodDisruptionBudget", "vibecode-api")["spec"]
        del spec["maxUnavailable"]
        spec["minAvailable"] = 1

    assert any("refuses every eviction" in f for f in failures(dev, old))


# -- 4: a chart that does not exist, a CRD nobody installs ----------------------------------------
def test_a_chart_nobody_serves_and_a_crd_nobody_installs_are_caught(dev: Any) -> None:
    def old(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        releases.append(
            {
                "resource": "watermarkpodautoscaler",
                "repo": "https://helm.datadoghq.com",
                "chart": "watermarkpodautoscaler",
                "version": "v0.4.0",
                "namespace": "datadog",
                "releaseName": None,
                "values": {},
            }
        )
        ms.append(
            {
                "apiVersion": "datadoghq.com/v1alpha1",
                "kind": "WatermarkPodAutoscaler",
                "metadata": {"name": "vibecode-api", "namespace": "vibecode"},
                "spec": {},
            }
        )

    found = failures(dev, old)
    assert any(
        "chart watermarkpodautoscaler v0.4.0 from https://helm.datadoghq.com is not" in f
        for f in found
    )
    assert any(
        "no release installs the CRD for datadoghq.com/v1alpha1 WatermarkPodAutoscaler" in f
        for f in found
    )


# -- the connectivity matrix ------------------------------------------------------------------------
def test_the_matrix_denies_what_the_platform_forbids(rendered: Any) -> None:
    _, report, _ = rendered
    denied = {
        r["flow"].split(" → ", 1)[1] for r in report["connectivity"] if r["expected"] == "deny"
    }
    assert {
        "api pods directly",
        "database",
        "authelia",
        "cloud metadata",
        "private network",
    } <= denied
    assert any(f.startswith("workspace ") for f in denied)  # one workspace → another
    assert all(r["actual"] == r["expected"] for r in report["connectivity"])


def test_a_workspace_policy_that_lets_it_reach_other_pods_is_caught(dev: Any) -> None:
    def open_egress(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        for m in ms:
            if (
                m["kind"] == "NetworkPolicy"
                and m["metadata"]["name"].endswith("-traffic")
                and "-ws-" in m["metadata"]["name"]
            ):
                m["spec"]["egress"] = [{}]

    found = failures(dev, open_egress)
    assert any("→ cloud metadata on 80/TCP is allow, must be deny" in f for f in found)
    assert any("→ private network on 443/TCP is allow, must be deny" in f for f in found)
    # The API's own ingress rule still stops the direct path; open that too and it shows.
    assert not any("→ api pods directly" in f for f in found)

    def open_api(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        open_egress(ms, releases)
        obj(ms, "NetworkPolicy", "vibecode-api-traffic")["spec"]["ingress"][0].pop("from")

    found = failures(dev, open_api)
    assert any("→ api pods directly on 8000/TCP is allow, must be deny" in f for f in found)


def test_kubernetes_policy_semantics(dev: Any) -> None:
    """The evaluator itself: an unselected pod is open, a selected one closed but for its rules;
    ports, protocols and namespace selectors count."""
    from vibecode_infra.verification.model import Cluster, Pod
    from vibecode_infra.verification.netpol import Endpoint, decide

    a = Pod("a", "a", {"app": "a"}, {}, "test", ip="10.0.0.1")
    b = Pod(
        "b",
        "b",
        {"app": "b"},
        {"containers": [{"ports": [{"name": "web", "containerPort": 8080}]}]},
        "test",
        ip="10.0.0.2",
    )
    cluster = Cluster(
        kind=True,
        namespaces={
            "a": {"kubernetes.io/metadata.name": "a", "team": "x"},
            "b": {"kubernetes.io/metadata.name": "b"},
        },
        pods=[a, b],
    )
    ea, eb = Endpoint("a", pod=a), Endpoint("b", pod=b)
    assert decide(cluster, ea, eb, 8080)[0]
    cluster.policies.append(
        {
            "metadata": {"name": "p", "namespace": "b"},
            "spec": {
                "podSelector": {},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"namespaceSelector": {"matchLabels": {"team": "x"}}}],
                        "ports": [{"port": "web"}],
                    }
                ],
            },
        }
    )
    assert decide(cluster, ea, eb, 8080)[0]
    assert not decide(cluster, ea, eb, 8081)[0]
    assert not decide(cluster, ea, eb, 8080, "UDP")[0]
    assert not decide(cluster, Endpoint("x", ip="203.0.113.1"), eb, 8080)[0]
    cluster.policies.append(
        {
            "metadata": {"name": "q", "namespace": "a"},
            "spec": {
                "podSelector": {"matchLabels": {"app": "a"}},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.0.0.2/32"]}}]}
                ],
            },
        }
    )
    assert not decide(cluster, ea, eb, 8080)[0]


def test_the_workspace_image_puts_extensions_and_the_skeleton_where_the_pod_looks() -> None:
    from vibecode_infra.components.workspace import EXTENSIONS_DIR, SKELETON

    dockerfile = (ROOT / "services/workspace/Dockerfile").read_text()
    assert f"--extensions-dir {EXTENSIONS_DIR} --install-extension" in dockerfile
    assert f"mkdir -p {EXTENSIONS_DIR} {SKELETON}/project" in dockerfile


# -- upload scanning: clamd, reached by the API only ------------------------------------------
def test_the_api_scans_uploads_with_the_clusters_clamd(rendered: Any) -> None:
    _, _, ms = rendered
    env = obj(ms, "ConfigMap", "vibecode-api-env", "vibecode")["data"]
    assert env["VIBE_CLAMD_URL"] == "tcp://clamd.vibecode-scanner.svc.cluster.local:3310"
    clamd = containers(obj(ms, "Deployment", "clamd", "vibecode-scanner"))
    # The image's unprivileged entrypoint, its own PING/PONG check, and its built-in signatures
    # copied into the volume that hides them (Cisco-Talos/clamav-docker, clamav/1.4/debian).
    assert clamd["clamd"]["command"] == ["/init-unprivileged"]
    assert clamd["clamd"]["startupProbe"]["exec"]["command"] == ["clamdcheck.sh"]
    assert clamd["clamd"]["startupProbe"]["failureThreshold"] * 10 >= 360
    assert "/var/lib/clamav/." in clamd["seed-databases"]["command"][-1]
    assert clamd["clamd"]["securityContext"]["readOnlyRootFilesystem"] is True


def test_an_api_policy_without_the_scanner_is_caught(dev: Any) -> None:
    def no_egress(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        policy = obj(ms, "NetworkPolicy", "vibecode-api-traffic", "vibecode")
        policy["spec"]["egress"] = [
            rule
            for rule in policy["spec"]["egress"]
            if "vibecode-scanner" not in str(rule.get("to", ""))
        ]

    found = failures(dev, no_egress)
    assert any("api → clamd (upload scanning)" in f for f in found), found


def test_a_clamd_url_on_a_port_nothing_serves_is_caught(dev: Any) -> None:
    def wrong_port(ms: list[dict[str, Any]], releases: list[dict[str, Any]]) -> None:
        env = obj(ms, "ConfigMap", "vibecode-api-env", "vibecode")["data"]
        env["VIBE_CLAMD_URL"] = env["VIBE_CLAMD_URL"].replace(":3310", ":3311")

    found = failures(dev, wrong_port)
    assert any("Service vibecode-scanner/clamd serves [3310], not 3311" in f for f in found), found

"""What each pinned chart renders with our values: its Services, its pods (labels, security
contexts, host ports, volumes) and the Secrets and ConfigMaps they reference.

These are models, written from each chart's templates at the version `components/charts.py`
pins (the file and helper each fact comes from is named beside it); they are not the charts'
code. A release of a chart or version not modelled here is a problem in itself: nothing offline
can then say what it will create. Bump a chart → re-read its templates → update its model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .model import Cluster, Pod, Release, Service
from .paths import get

RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
}
RESTRICTED_POD = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}


def _fullname(release: str, chart: str) -> str:
    """The common `<chart>.fullname` helper (ingress-nginx, datadog, cert-manager, authelia's
    `authelia.name`): the release name when it contains the chart's name, else
    `<release>-<chart>`."""
    return release if chart in release else f"{release}-{chart}"


def _pod(
    ns: str,
    name: str,
    labels: dict[str, str],
    pod_ctx: dict[str, Any],
    container_ctx: dict[str, Any],
    source: str,
    ports: list[dict[str, Any]] | None = None,
    volumes: list[dict[str, Any]] | None = None,
    env_from_secrets: list[str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Pod:
    container: dict[str, Any] = {"name": name, "securityContext": container_ctx}
    if ports:
        container["ports"] = ports
    if env_from_secrets:
        container["envFrom"] = [{"secretRef": {"name": s}} for s in env_from_secrets]
    spec: dict[str, Any] = {"securityContext": pod_ctx, "containers": [container], **(extra or {})}
    if volumes:
        spec["volumes"] = volumes
    return Pod(ns, name, labels, spec, source)


def ingress_nginx(cluster: Cluster, r: Release, name: str) -> None:
    """ingress-nginx 4.12.1: Services `<fullname>-controller` (80, 443) and
    `<fullname>-controller-admission` (443 → 8443) (templates/controller-service*.yaml); the
    controller container's context from `ingress-nginx.controller.containerSecurityContext`
    (templates/_helpers.tpl: uid 101, non-root, no escalation, RuntimeDefault, drop ALL + add
    NET_BIND_SERVICE); `hostPort` on 80/443 when `controller.hostPort.enabled`
    (templates/controller-deployment.yaml); the proxy-headers ConfigMap
    `<fullname>-custom-proxy-headers` when `controller.proxySetHeaders` is set; admission
    patch Jobs with restricted contexts (values.yaml `admissionWebhooks.patch`)."""
    v, ns = r.values, r.namespace
    full = _fullname(name, "ingress-nginx")
    cluster.services += [
        Service(ns, f"{full}-controller", {80, 443}, f"chart {name}"),
        Service(ns, f"{full}-controller-admission", {443}, f"chart {name}"),
    ]
    image = get(v, "controller.image", {}) or {}
    ctx = get(v, "controller.containerSecurityContext") or {
        "runAsNonRoot": image.get("runAsNonRoot", True),
        "runAsUser": image.get("runAsUser", 101),
        "allowPrivilegeEscalation": bool(image.get("allowPrivilegeEscalation", False)),
        "seccompProfile": image.get("seccompProfile", {"type": "RuntimeDefault"}),
        "capabilities": {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
        "readOnlyRootFilesystem": image.get("readOnlyRootFilesystem", False),
    }
    host_ports = bool(get(v, "controller.hostPort.enabled", False))
    ports = [
        {"name": "http", "containerPort": 80, **({"hostPort": 80} if host_ports else {})},
        {"name": "https", "containerPort": 443, **({"hostPort": 443} if host_ports else {})},
        {"name": "webhook", "containerPort": 8443},
        {"name": "metrics", "containerPort": 10254},
    ]
    labels = {
        "app.kubernetes.io/name": "ingress-nginx",
        "app.kubernetes.io/instance": name,
        "app.kubernetes.io/component": "controller",
    }
    cluster.pods.append(
        _pod(
            ns,
            f"{full}-controller",
            labels,
            get(v, "controller.podSecurityContext") or {},
            ctx,
            f"chart {name}",
            ports=ports,
        )
    )
    cluster.pods.append(
        _pod(
            ns,
            f"{full}-admission-patch",
            {**labels, "app.kubernetes.io/component": "admission-webhook"},
            RESTRICTED_POD,
            {**RESTRICTED_CONTAINER, "runAsNonRoot": True},
            f"chart {name}",
        )
    )
    if get(v, "controller.proxySetHeaders"):
        cluster.configmaps[(ns, f"{full}-custom-proxy-headers")] = f"chart {name}"


def cert_manager(cluster: Cluster, r: Release, name: str) -> None:
    """cert-manager v1.17.2: Services `<fullname>` (9402) and `<fullname>-webhook` (443 →
    10250) (deploy/charts/cert-manager/templates); controller, webhook and cainjector pods with
    values.yaml's `securityContext` (non-root, RuntimeDefault) and `containerSecurityContext`
    (no escalation, drop ALL, read-only root); the CRDs when `crds.enabled`."""
    v, ns = r.values, r.namespace
    full = _fullname(name, "cert-manager")
    cluster.services += [
        Service(ns, full, {9402}, f"chart {name}"),
        Service(ns, f"{full}-webhook", {443}, f"chart {name}"),
    ]
    pod_ctx = get(v, "securityContext") or RESTRICTED_POD
    ctx = get(v, "containerSecurityContext") or RESTRICTED_CONTAINER
    for component, port in (("controller", 9402), ("webhook", 10250), ("cainjector", None)):
        labels = {
            "app.kubernetes.io/name": "webhook" if component == "webhook" else full,
            "app.kubernetes.io/instance": name,
            "app.kubernetes.io/component": component,
        }
        ports = [{"containerPort": port}] if port else None
        cluster.pods.append(
            _pod(ns, f"{full}-{component}", labels, pod_ctx, ctx, f"chart {name}", ports=ports)
        )
    if get(v, "crds.enabled", False):
        for kind in ("Certificate", "ClusterIssuer", "Issuer", "CertificateRequest"):
            cluster.crds.add(("cert-manager.io/v1", kind))


def authelia(cluster: Cluster, r: Release, name: str) -> None:
    """authelia 0.10.10: Service `authelia.name` (the release name when it contains
    "authelia"), port `service.port` or 80 → the pod's `http` (9091) (templates/service.yaml,
    _helpers.tpl `authelia.service.port`); the pod's securityContext only from
    `pod.securityContext.pod`, the container's only from `pod.securityContext.container`
    (templates/deployment.yaml); the Secret `secret.existingSecret` (or `authelia.name`)
    mounted at `/secrets/internal`, each `secret.additionalSecrets` key mounted from the Secret
    of that name at `/secrets/<key>`; a PVC when `persistence.enabled`."""
    v, ns = r.values, r.namespace
    full = _fullname(name, "authelia")
    port = int(get(v, "service.port") or 80)
    cluster.services.append(Service(ns, full, {port}, f"chart {name}"))
    volumes: list[dict[str, Any]] = []
    if not get(v, "secret.disabled", False):
        volumes.append(
            {"name": "secrets", "secret": {"secretName": get(v, "secret.existingSecret") or full}}
        )
    for key in get(v, "secret.additionalSecrets", {}) or {}:
        volumes.append({"name": f"secret-{key}", "secret": {"secretName": key}})
    if get(v, "persistence.enabled", False):
        volumes.append({"name": "authelia", "persistentVolumeClaim": {"claimName": full}})
    volumes += list(get(v, "pod.extraVolumes", []) or [])
    labels = {"app.kubernetes.io/name": "authelia", "app.kubernetes.io/instance": name}
    cluster.pods.append(
        _pod(
            ns,
            full,
            labels,
            get(v, "pod.securityContext.pod") or {},
            get(v, "pod.securityContext.container") or {},
            f"chart {name}",
            ports=[{"name": "http", "containerPort": int(get(v, "configMap.port") or 9091)}],
            volumes=volumes,
        )
    )


def cloudnative_pg(cluster: Cluster, r: Release, name: str) -> None:
    """cloudnative-pg 0.23.2 (operator 1.25.1): Service `webhook.service.name`
    (`cnpg-webhook-service`, 443 → 9443); the operator pod with values.yaml's
    `podSecurityContext` / `containerSecurityContext` (restricted: uid 10001, drop ALL,
    RuntimeDefault); the postgresql.cnpg.io/v1 CRDs."""
    v, ns = r.values, r.namespace
    cluster.services.append(Service(ns, "cnpg-webhook-service", {443}, f"chart {name}"))
    labels = {"app.kubernetes.io/name": "cloudnative-pg", "app.kubernetes.io/instance": name}
    cluster.pods.append(
        _pod(
            ns,
            _fullname(name, "cloudnative-pg"),
            labels,
            get(v, "podSecurityContext") or RESTRICTED_POD,
            get(v, "containerSecurityContext") or {**RESTRICTED_CONTAINER, "runAsUser": 10001},
            f"chart {name}",
            ports=[{"containerPort": 9443}],
        )
    )
    for kind in ("Cluster", "ScheduledBackup", "Backup", "Pooler"):
        cluster.crds.add(("postgresql.cnpg.io/v1", kind))


def datadog(cluster: Cluster, r: Release, name: str) -> None:
    """datadog 3.72.1: the node agent DaemonSet (labels `app: <fullname>`) with hostPath
    volumes and host ports (DogStatsD 8125/UDP when `datadog.dogstatsd.useHostPort`, APM 8126
    when `datadog.apm.portEnabled`), so only a privileged namespace admits it; the Cluster
    Agent (`app: <fullname>-cluster-agent`) with Services `<fullname>-cluster-agent` (5005),
    `-cluster-agent-metrics-api` (8443) and `-cluster-agent-admission-controller` (443 →
    `clusterAgent.admissionController.port`, 8000); API and app keys from
    `datadog.apiKeyExistingSecret` / `appKeyExistingSecret`; the DatadogMetric CRD from its
    datadog-crds 1.7.2 dependency when `clusterAgent.metricsProvider.useDatadogMetrics`."""
    v, ns = r.values, r.namespace
    full = _fullname(name, "datadog")
    secrets = [
        s
        for s in (get(v, "datadog.apiKeyExistingSecret"), get(v, "datadog.appKeyExistingSecret"))
        if s
    ]
    ports: list[dict[str, Any]] = []
    if get(v, "datadog.dogstatsd.useHostPort", False):
        port = int(get(v, "datadog.dogstatsd.port") or 8125)
        ports.append({"containerPort": port, "hostPort": port, "protocol": "UDP"})
    if get(v, "datadog.apm.portEnabled", False):
        port = int(get(v, "datadog.apm.port") or 8126)
        ports.append({"containerPort": port, "hostPort": port, "protocol": "TCP"})
    cluster.pods.append(
        _pod(
            ns,
            f"{full}-agent",
            {"app": full},
            {},
            {},
            f"chart {name}",
            ports=ports,
            volumes=[{"name": "procdir", "hostPath": {"path": "/proc"}}],
            env_from_secrets=secrets,
        )
    )
    admission = int(get(v, "clusterAgent.admissionController.port") or 8000)
    if get(v, "clusterAgent.enabled", True):
        cluster.services += [
            Service(ns, f"{full}-cluster-agent", {5005}, f"chart {name}"),
            Service(ns, f"{full}-cluster-agent-metrics-api", {8443}, f"chart {name}"),
            Service(ns, f"{full}-cluster-agent-admission-controller", {443}, f"chart {name}"),
        ]
        cluster.pods.append(
            _pod(
                ns,
                f"{full}-cluster-agent",
                {"app": f"{full}-cluster-agent"},
                {},
                {},
                f"chart {name}",
                ports=[{"containerPort": p} for p in (5005, 8443, admission)],
                env_from_secrets=secrets,
            )
        )
    if get(v, "clusterAgent.metricsProvider.useDatadogMetrics", False):
        cluster.crds.add(("datadoghq.com/v1alpha1", "DatadogMetric"))


MODELS: dict[tuple[str, str, str], Callable[[Cluster, Release, str], None]] = {
    ("https://kubernetes.github.io/ingress-nginx", "ingress-nginx", "4.12.1"): ingress_nginx,
    ("https://charts.jetstack.io", "cert-manager", "v1.17.2"): cert_manager,
    ("https://charts.authelia.com", "authelia", "0.10.10"): authelia,
    ("https://cloudnative-pg.github.io/charts", "cloudnative-pg", "0.23.2"): cloudnative_pg,
    ("https://helm.datadoghq.com", "datadog", "3.72.1"): datadog,
}
"""The charts whose templates were read at exactly these versions in exactly these repositories."""


def render(cluster: Cluster, release: Release) -> None:
    model = MODELS.get((release.repo, release.chart, release.version))
    if model is None:
        cluster.problems.append(
            f"helm release {release.resource}: chart {release.chart} {release.version} from "
            f"{release.repo} is not one whose templates were read (not known to exist there, "
            "and nothing offline can say what it creates)"
        )
        return
    if release.name is None:
        cluster.problems.append(
            f"helm release {release.resource}: no fixed release name; pulumi-kubernetes then "
            f"installs it as {release.resource}-<random hex>, and every object the chart "
            "names after its release gets a name nothing else knows"
        )
        name = f"{release.resource}-0a1b2c3d"
    else:
        name = release.name
    model(cluster, release, name)

"""Third-party Helm charts, pinned, each installed under a fixed release name.

Bump a version deliberately, in one place, after reading the chart's templates at the new tag:
the facts the program relies on (Service names and ports, value keys, the security contexts the
templates render) are noted where they are used, and the verification chain's chart models
(`vibecode_infra.verification.charts`) encode them, so a chart that no longer renders what we
address fails offline.

A release's name is never generated: pulumi-kubernetes names a `helm.v3.Release` `<name>-<random
hex>` unless `name=` is given, and charts name their objects after the release.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repo: str
    release: str
    """The Helm release name we install it under (objects we address are named after it)."""


INGRESS_NGINX = Chart(
    "ingress-nginx", "4.12.1", "https://kubernetes.github.io/ingress-nginx", "ingress-nginx"
)
"""Controller v1.12.1. Its container renders runAsNonRoot/uid 101, no privilege escalation,
seccomp RuntimeDefault, drop ALL + add NET_BIND_SERVICE (`ingress-nginx.controller.
containerSecurityContext` in templates/_helpers.tpl): fine for Pod Security baseline and
restricted as long as `controller.hostPort.enabled` stays false."""
CERT_MANAGER = Chart("cert-manager", "v1.17.2", "https://charts.jetstack.io", "cert-manager")
"""Its HTTP-01 solver pods (pkg/issuer/acme/http/pod.go at v1.17.2) run in the Ingress's own
namespace, listen on 8089, carry `acme.cert-manager.io/http01-solver: "true"`, request 10m CPU /
64Mi and are limited to 100m / 64Mi (internal/apis/config/controller/v1alpha1/defaults.go), and
are restricted-compliant (non-root, RuntimeDefault seccomp, drop ALL, read-only root)."""
ACME_SOLVER_RESOURCES = {
    "requests": {"cpu": "10m", "memory": "64Mi"},
    "limits": {"cpu": "100m", "memory": "64Mi"},
}
"""cert-manager v1.17.2's HTTP-01 solver pod resources (its controller's defaults, above)."""
AUTHELIA = Chart("authelia", "0.10.10", "https://charts.authelia.com", "authelia")
"""`authelia.name` (templates/_helpers.tpl) is the release name when it contains "authelia", so
the Service is `authelia`, port `service.port` (default 80) → the pod's `http` port 9091. The
chart renders a securityContext only from `pod.securityContext.pod` / `.container`."""
CLOUDNATIVE_PG = Chart(
    "cloudnative-pg", "0.23.2", "https://cloudnative-pg.github.io/charts", "cloudnative-pg"
)
DATADOG = Chart("datadog", "3.72.1", "https://helm.datadoghq.com", "datadog")
"""Agent / Cluster Agent 7.x. Its dependency datadog-crds 1.7.2 is installed when
`clusterAgent.metricsProvider.useDatadogMetrics` is true and ships the DatadogMetric CRD
(datadoghq.com/v1alpha1) but no WatermarkPodAutoscaler CRD and no v1alpha2
DatadogPodAutoscaler: the API scales with a plain HPA on a DatadogMetric. The Cluster Agent's
admission webhook listens on `clusterAgent.admissionController.port` (default 8000, enabled by
default), its external metrics server on 8443."""

"""What the operators make from our custom resources, modelled for verification.

- CloudNativePG 1.25 from a `Cluster` named C in namespace N: Services `C-rw`, `C-ro`, `C-r`
  (5432) and instance pods labelled `cnpg.io/cluster: C` (plus `inheritedMetadata` labels), in
  N; the owner's credentials Secret: the one named in `bootstrap.initdb.secret` (which must then
  exist in N), else a generated `C-app`, in N; the instance pods run restricted-compliant
  (non-root, RuntimeDefault seccomp, no escalation, drop ALL).
- cert-manager: a Certificate's `spec.secretName`, and each `tls[].secretName` of an Ingress
  annotated with a cluster issuer, in that object's namespace; for ACME issuers, an HTTP-01
  solver pod per challenge in the Ingress's namespace (labelled
  `acme.cert-manager.io/http01-solver: "true"`, port 8089, restricted-compliant, requests 10m /
  64Mi, limits 100m / 64Mi: pkg/issuer/acme/http/pod.go and the controller's defaults at
  v1.17.2).
"""

from __future__ import annotations

from typing import Any

from ..components.addresses import ACME_SOLVER_LABEL as SOLVER_LABEL
from ..components.addresses import ACME_SOLVER_PORT as SOLVER_PORT
from ..components.charts import ACME_SOLVER_RESOURCES as SOLVER_RESOURCES
from .model import Cluster, Pod, Service

RESTRICTED_CONTEXT = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "seccompProfile": {"type": "RuntimeDefault"},
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
}


def _acme_issuers(cluster: Cluster) -> set[str]:
    return {
        m["metadata"]["name"]
        for m in cluster.of_kind("ClusterIssuer")
        if "acme" in (m.get("spec") or {})
    }


def solver_pod(namespace: str, resources: dict[str, Any] | None = None) -> Pod:
    spec = {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "acmesolver",
                "ports": [{"containerPort": SOLVER_PORT, "name": "http"}],
                "resources": resources or SOLVER_RESOURCES,
                "securityContext": RESTRICTED_CONTEXT,
            }
        ],
    }
    return Pod(namespace, "cm-acme-http-solver", {SOLVER_LABEL: "true"}, spec, "cert-manager")


def render(cluster: Cluster) -> None:
    for m in cluster.of_kind("Cluster"):
        if not m["apiVersion"].startswith("postgresql.cnpg.io/"):
            continue
        name, ns = m["metadata"]["name"], m["metadata"].get("namespace", "")
        spec = m.get("spec", {})
        for suffix in ("rw", "ro", "r"):
            cluster.services.append(Service(ns, f"{name}-{suffix}", {5432}, "CloudNativePG"))
        given = ((spec.get("bootstrap") or {}).get("initdb") or {}).get("secret") or {}
        if not given.get("name"):
            cluster.secrets[(ns, f"{name}-app")] = "CloudNativePG"
        for secret in ("ca", "server", "replication"):
            cluster.secrets[(ns, f"{name}-{secret}")] = "CloudNativePG"
        labels = {
            **((spec.get("inheritedMetadata") or {}).get("labels") or {}),
            "cnpg.io/cluster": name,
            "cnpg.io/podRole": "instance",
        }
        pod_spec = {
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "postgres",
                    "ports": [
                        {"containerPort": 5432},
                        {"containerPort": 9187},
                        {"containerPort": 8000},
                    ],
                    "securityContext": RESTRICTED_CONTEXT,
                }
            ],
        }
        cluster.pods.append(Pod(ns, f"{name}-1", labels, pod_spec, "CloudNativePG"))
    acme = _acme_issuers(cluster)
    solver_namespaces: set[str] = set()
    for m in cluster.of_kind("Certificate"):
        ns = m["metadata"].get("namespace", "")
        cluster.secrets[(ns, m["spec"]["secretName"])] = "cert-manager"
        if (m["spec"].get("issuerRef") or {}).get("name") in acme:
            solver_namespaces.add(ns)
    for m in cluster.of_kind("Ingress"):
        ns = m["metadata"].get("namespace", "")
        issuer = (m["metadata"].get("annotations") or {}).get("cert-manager.io/cluster-issuer")
        if not issuer:
            continue
        for tls in (m.get("spec") or {}).get("tls", []):
            if tls.get("secretName"):
                cluster.secrets[(ns, tls["secretName"])] = "cert-manager"
        if issuer in acme:
            solver_namespaces.add(ns)
    for release in cluster.releases:
        # A chart's own Ingress (Authelia's) is certified the same way.
        annotations = (release.values.get("ingress") or {}).get("annotations") or {}
        if annotations.get("cert-manager.io/cluster-issuer") in acme:
            solver_namespaces.add(release.namespace)
    for ns in sorted(solver_namespaces):
        cluster.pods.append(solver_pod(ns))

"""Network policies: default deny in every namespace we own, then only the paths we need.

DNS only to kube-dns; ingress-nginx → api, Authelia and workspaces; api → database; workspaces
reach the internet but not cluster-internal ranges nor the cloud metadata endpoint.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

PRIVATE_RANGES = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"]
METADATA = "169.254.169.254/32"


def ns_selector(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


DNS_EGRESS = {
    "to": [{**ns_selector("kube-system"), "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}
INTERNET_EGRESS = {
    "to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [*PRIVATE_RANGES, METADATA]}}]
}
ANY_EXCEPT_METADATA = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [METADATA]}}]}


def policy(
    name: str,
    namespace: pulumi.Input[str],
    *,
    ingress: list[Any] | None = None,
    egress: list[Any] | None = None,
    pod_selector: dict[str, Any] | None = None,
    opts: pulumi.ResourceOptions,
) -> k8s.networking.v1.NetworkPolicy:
    types = []
    if ingress is not None:
        types.append("Ingress")
    if egress is not None:
        types.append("Egress")
    spec: dict[str, Any] = {"podSelector": pod_selector or {}, "policyTypes": types}
    if ingress:
        spec["ingress"] = ingress
    if egress:
        spec["egress"] = egress
    return k8s.networking.v1.NetworkPolicy(
        name, metadata={"name": name, "namespace": namespace}, spec=spec, opts=opts
    )


def default_deny(
    prefix: str, namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> k8s.networking.v1.NetworkPolicy:
    """Nothing in, nothing out, unless another policy of the namespace allows it."""
    return policy(f"{prefix}-default-deny", namespace, ingress=[], egress=[], opts=opts)


def acme_solver(
    prefix: str, namespace: pulumi.Input[str], opts: pulumi.ResourceOptions
) -> k8s.networking.v1.NetworkPolicy:
    """cert-manager's HTTP-01 solver pods run in the namespace of the Ingress they prove and
    listen on 8089 (charts.CERT_MANAGER): ingress-nginx must reach them there, nothing else."""
    from .addresses import ACME_SOLVER_LABEL, ACME_SOLVER_PORT, INGRESS_NS

    return policy(
        f"{prefix}-acme-solver",
        namespace,
        pod_selector={"matchLabels": {ACME_SOLVER_LABEL: "true"}},
        ingress=[{"from": [ns_selector(INGRESS_NS)], "ports": [{"port": ACME_SOLVER_PORT}]}],
        opts=opts,
    )

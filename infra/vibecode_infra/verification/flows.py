"""The connectivity matrix: the flows the platform needs, which the declared NetworkPolicies
must allow, and the flows it forbids, which they must deny (`netpol.decide` on the cluster
model). A flow whose end does not exist in the model fails too: a policy cannot be right about
a pod that will never run."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from ..components.addresses import (
    API_NS,
    AUTH_NS,
    DATADOG_NS,
    DB_NS,
    INGRESS_NS,
    OPERATOR_NS,
    SCANNER_NS,
)
from ..config import StackConfig
from .model import Cluster, Pod
from .netpol import Endpoint, decide

INTERNET = "203.0.113.10"
"""A client or provider on the internet (TEST-NET-3, never routed)."""
METADATA = "169.254.169.254"
PRIVATE = "10.1.2.3"
"""Something else in the private network (a VPC database, another team's service)."""


@dataclass(frozen=True)
class Flow:
    name: str
    src: Endpoint | None
    dst: Endpoint | None
    port: int
    protocol: str
    allow: bool

    def judge(self, cluster: Cluster) -> dict[str, Any]:
        row: dict[str, Any] = {
            "flow": self.name,
            "port": f"{self.port}/{self.protocol}",
            "expected": "allow" if self.allow else "deny",
        }
        if self.src is None or self.dst is None:
            return {**row, "actual": "missing", "ok": False, "why": "an end does not exist"}
        allowed, why = decide(cluster, self.src, self.dst, self.port, self.protocol)
        return {
            **row,
            "actual": "allow" if allowed else "deny",
            "ok": allowed == self.allow,
            "why": why,
        }


def _pod(cluster: Cluster, ns: str, **labels: str) -> Pod | None:
    for pod in cluster.pods:
        if pod.namespace == ns and all(pod.labels.get(k) == v for k, v in labels.items()):
            return pod
    return None


def _ep(label: str, pod: Pod | None) -> Endpoint | None:
    return Endpoint(label, pod=pod) if pod else None


def matrix(cluster: Cluster, cfg: StackConfig) -> list[Flow]:
    node_ip = "172.18.0.2" if cfg.kind else "10.0.0.10"
    apiserver = Endpoint("kube-apiserver", ip=node_ip)
    internet = Endpoint("internet", ip=INTERNET)
    ingress = _ep(
        "ingress-nginx", _pod(cluster, INGRESS_NS, **{"app.kubernetes.io/component": "controller"})
    )
    api = _ep("api", _pod(cluster, API_NS, **{"app.kubernetes.io/name": "api"}))
    authelia = _ep("authelia", _pod(cluster, AUTH_NS, **{"app.kubernetes.io/name": "authelia"}))
    db = _ep("database", _pod(cluster, DB_NS, **{"cnpg.io/podRole": "instance"}))
    dns = _ep("kube-dns", _pod(cluster, "kube-system", **{"k8s-app": "kube-dns"}))
    workspaces = [
        Endpoint(f"workspace {p.namespace}", pod=p)
        for p in cluster.pods
        if p.ours and p.labels.get("app.kubernetes.io/name") == "code-server"
    ]
    flows = [
        Flow("internet → ingress-nginx (https)", internet, ingress, 443, "TCP", True),
        Flow(
            "internet → ingress-nginx (http, redirect and ACME)", internet, ingress, 80, "TCP", True
        ),
        Flow("ingress-nginx → api", ingress, api, 8000, "TCP", True),
        Flow("ingress-nginx → authelia", ingress, authelia, 9091, "TCP", True),
        Flow("api → authelia (owner check)", api, authelia, 9091, "TCP", True),
        Flow("api → database", api, db, 5432, "TCP", True),
        Flow("api → kubernetes API", api, apiserver, 6443, "TCP", True),
        Flow("api → LLM providers", api, Endpoint("provider", ip=INTERNET), 443, "TCP", True),
        Flow("api → cloud metadata", api, Endpoint("metadata", ip=METADATA), 80, "TCP", False),
        Flow(
            "cnpg operator → database (status)",
            _ep(
                "cnpg operator",
                _pod(cluster, OPERATOR_NS, **{"app.kubernetes.io/name": "cloudnative-pg"}),
            ),
            db,
            8000,
            "TCP",
            True,
        ),
        Flow(
            "kubernetes API → cnpg webhook",
            apiserver,
            _ep(
                "cnpg operator",
                _pod(cluster, OPERATOR_NS, **{"app.kubernetes.io/name": "cloudnative-pg"}),
            ),
            9443,
            "TCP",
            True,
        ),
        Flow("kubernetes API → ingress-nginx admission", apiserver, ingress, 8443, "TCP", True),
        Flow(
            "kubernetes API → cert-manager webhook",
            apiserver,
            _ep(
                "cert-manager webhook",
                _pod(cluster, "cert-manager", **{"app.kubernetes.io/component": "webhook"}),
            ),
            10250,
            "TCP",
            True,
        ),
    ]
    if cfg.scanner.enabled:
        clamd = _ep("clamd", _pod(cluster, SCANNER_NS, **{"app.kubernetes.io/name": "clamd"}))
        flows += [
            Flow("api → clamd (upload scanning)", api, clamd, 3310, "TCP", True),
            Flow("clamd → signature mirror", clamd, internet, 443, "TCP", True),
            Flow("clamd → database", clamd, db, 5432, "TCP", False),
            Flow(
                "clamd → private network", clamd, Endpoint("private", ip=PRIVATE), 443, "TCP", False
            ),
            *(Flow(f"{ws.label} → clamd", ws, clamd, 3310, "TCP", False) for ws in workspaces),
        ]
    for ns in sorted({p.namespace for p in cluster.pods if p.ours}):
        pod = next(p for p in cluster.pods if p.ours and p.namespace == ns)
        flows.append(Flow(f"{ns} → DNS", Endpoint(ns, pod=pod), dns, 53, "UDP", True))
    for ws in workspaces:
        flows += [
            Flow(f"ingress-nginx → {ws.label}", ingress, ws, 8080, "TCP", True),
            Flow(f"{ws.label} → internet", ws, internet, 443, "TCP", True),
            Flow(f"{ws.label} → api pods directly", ws, api, 8000, "TCP", False),
            Flow(f"{ws.label} → database", ws, db, 5432, "TCP", False),
            Flow(f"{ws.label} → authelia", ws, authelia, 9091, "TCP", False),
            Flow(
                f"{ws.label} → cloud metadata",
                ws,
                Endpoint("metadata", ip=METADATA),
                80,
                "TCP",
                False,
            ),
            Flow(
                f"{ws.label} → private network",
                ws,
                Endpoint("private", ip=PRIVATE),
                443,
                "TCP",
                False,
            ),
        ]
    for a, b in itertools.pairwise(workspaces):
        flows.append(Flow(f"{a.label} → {b.label}", a, b, 8080, "TCP", False))
    for solver in (p for p in cluster.pods if p.source == "cert-manager"):
        flows.append(
            Flow(
                f"ingress-nginx → ACME solver in {solver.namespace}",
                ingress,
                Endpoint("solver", pod=solver),
                8089,
                "TCP",
                True,
            )
        )
    if cfg.datadog.enabled:
        agent = _pod(cluster, DATADOG_NS, app="datadog")
        cluster_agent = _pod(cluster, DATADOG_NS, app="datadog-cluster-agent")
        # The API sends to the agent's host ports on its node (status.hostIP): egress is judged
        # against the node's address, ingress at the agent's pod.
        via_node = Endpoint("datadog agent (host port)", pod=agent, ip=node_ip) if agent else None
        flows += [
            Flow("api → datadog agent (DogStatsD)", api, via_node, 8125, "UDP", True),
            Flow("api → datadog agent (traces)", api, via_node, 8126, "TCP", True),
            Flow(
                "kubernetes API → cluster agent (external metrics)",
                apiserver,
                _ep("cluster agent", cluster_agent),
                8443,
                "TCP",
                True,
            ),
            Flow(
                "kubernetes API → cluster agent (admission webhook)",
                apiserver,
                _ep("cluster agent", cluster_agent),
                8000,
                "TCP",
                True,
            ),
            Flow(
                "datadog agent → database metrics",
                _ep("datadog agent", agent),
                db,
                9187,
                "TCP",
                True,
            ),
        ]
    return flows


def judge(cluster: Cluster, cfg: StackConfig) -> list[dict[str, Any]]:
    return [flow.judge(cluster) for flow in matrix(cluster, cfg)]

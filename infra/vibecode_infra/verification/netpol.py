"""Kubernetes NetworkPolicy semantics, evaluated for the pods the cluster model knows.

A pod is isolated for ingress (egress) when some policy of its namespace selects it and lists
that policy type; an isolated pod admits a connection only when some rule of a selecting policy
matches the peer and the port. A connection needs both the source's egress and the
destination's ingress to allow it. Peers: `podSelector` (same namespace), `namespaceSelector`
(with an optional `podSelector`), `ipBlock` (CIDR minus `except`, matched against the peer's
IP, pods' too, as Calico and Cilium do). Ports: number or name, protocol (TCP by default),
`endPort`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from .model import Cluster, Pod


@dataclass(frozen=True)
class Endpoint:
    """A flow's end: one of the model's pods, or an address outside the pod network."""

    label: str
    pod: Pod | None = None
    ip: str = ""

    @property
    def address(self) -> str:
        """What an egress rule sees: `ip` when given (a pod reached through its node's host
        port), else the pod's own address."""
        return self.ip or (self.pod.ip if self.pod else "")


def matches(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def _peer_matches(cluster: Cluster, peer: dict[str, Any], policy_ns: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        address = ipaddress.ip_address(other.address)
        if address not in ipaddress.ip_network(block["cidr"]):
            return False
        return not any(address in ipaddress.ip_network(e) for e in block.get("except", []))
    if other.pod is None:
        return False  # selectors only ever match pods
    pod = other.pod
    if "namespaceSelector" in peer:
        ns_labels = cluster.namespaces.get(pod.namespace, {})
        if not matches(peer["namespaceSelector"], ns_labels):
            return False
        return "podSelector" not in peer or matches(peer["podSelector"], pod.labels)
    return pod.namespace == policy_ns and matches(peer.get("podSelector"), pod.labels)


def _port_matches(
    rule_ports: list[dict[str, Any]] | None, target: Pod | None, port: int, protocol: str
) -> bool:
    if not rule_ports:
        return True
    for p in rule_ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        wanted = p.get("port")
        if wanted is None:
            return True
        if isinstance(wanted, str) and not wanted.isdigit():
            named = {
                cp.get("name"): cp.get("containerPort")
                for c in (target.spec.get("containers", []) if target else [])
                for cp in c.get("ports", [])
            }
            if named.get(wanted) == port:
                return True
            continue
        low, high = int(wanted), int(p.get("endPort", wanted))
        if low <= port <= high:
            return True
    return False


def _allowed(
    cluster: Cluster,
    pod: Pod,
    direction: str,
    other: Endpoint,
    port: int,
    protocol: str,
    target: Pod | None,
) -> tuple[bool, str]:
    kind = "Ingress" if direction == "ingress" else "Egress"
    selecting = [
        p
        for p in cluster.policies
        if p["metadata"].get("namespace") == pod.namespace
        and matches(p["spec"].get("podSelector", {}), pod.labels)
        and kind in p["spec"].get("policyTypes", ["Ingress"])
    ]
    if not selecting:
        return True, f"{pod.namespace}: no {kind.lower()} policy selects it"
    key = "from" if direction == "ingress" else "to"
    for policy in selecting:
        for rule in policy["spec"].get(direction, []) or []:
            peers = rule.get(key)
            if peers and not any(
                _peer_matches(cluster, peer, pod.namespace, other) for peer in peers
            ):
                continue
            if _port_matches(rule.get("ports"), target, port, protocol):
                return True, f"{policy['metadata']['name']}"
    return False, f"no {kind.lower()} rule in {pod.namespace} admits it"


def decide(
    cluster: Cluster, src: Endpoint, dst: Endpoint, port: int, protocol: str = "TCP"
) -> tuple[bool, str]:
    """Whether the policies let `src` open `port` on `dst`, and why not."""
    if src.pod is not None:
        ok, why = _allowed(cluster, src.pod, "egress", dst, port, protocol, dst.pod)
        if not ok:
            return False, f"egress: {why}"
    if dst.pod is not None:
        ok, why = _allowed(cluster, dst.pod, "ingress", src, port, protocol, dst.pod)
        if not ok:
            return False, f"ingress: {why}"
    return True, "allowed"

"""The cluster a stack will produce, as far as verification needs to see it.

Three sources: the objects the program declares (captured by the mock engine); what each Helm
release renders with the values we give it (`charts.py`, one model per pinned chart); and what
the operators make from our custom resources (CloudNativePG from a `Cluster`, cert-manager from
Certificates, Ingresses and ACME challenges). Everything here is data: namespaces with labels,
pods with labels and specs, Services with ports, Secrets and ConfigMaps by name.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet")


@dataclass
class Pod:
    namespace: str
    name: str
    labels: dict[str, str]
    spec: dict[str, Any]
    source: str
    """Where it comes from, for messages: `Deployment vibecode/vibecode-api-blue`, `chart
    authelia`, `CloudNativePG`."""
    ours: bool = False
    ip: str = ""

    @property
    def who(self) -> str:
        return f"pod {self.namespace}/{self.name} ({self.source})"


@dataclass
class Service:
    namespace: str
    name: str
    ports: set[int]
    source: str


@dataclass
class Release:
    name: str | None
    """The release name Helm installs under; None when the program left it to be generated."""
    resource: str
    chart: str
    version: str
    repo: str
    namespace: str
    values: dict[str, Any]


@dataclass
class Cluster:
    kind: bool
    namespaces: dict[str, dict[str, str]] = field(default_factory=dict)
    pods: list[Pod] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)
    secrets: dict[tuple[str, str], str] = field(default_factory=dict)
    """(namespace, name) → what makes it."""
    configmaps: dict[tuple[str, str], str] = field(default_factory=dict)
    crds: set[tuple[str, str]] = field(default_factory=set)
    """(group/version, kind) the releases install."""
    policies: list[dict[str, Any]] = field(default_factory=list)
    manifests: list[dict[str, Any]] = field(default_factory=list)
    releases: list[Release] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """What a model found it cannot render (an unknown chart, a generated release name)."""
    _by_namespace: dict[str, list[dict[str, Any]]] | None = field(default=None, repr=False)
    _indexed: int = field(default=0, repr=False)

    def policies_in(self, namespace: str) -> list[dict[str, Any]]:
        """The NetworkPolicies of one namespace (indexed once: flows ask per pod)."""
        if self._by_namespace is None or self._indexed != len(self.policies):
            self._by_namespace, self._indexed = {}, len(self.policies)
            for p in self.policies:
                self._by_namespace.setdefault(p["metadata"].get("namespace", ""), []).append(p)
        return self._by_namespace.get(namespace, [])

    def service(self, namespace: str, name: str) -> Service | None:
        return next((s for s in self.services if s.namespace == namespace and s.name == name), None)

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.manifests if m["kind"] == kind]


def pod_template(m: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]] | None:
    """The labels and spec of the pods a workload runs."""
    if m["kind"] == "Pod":
        return m["metadata"].get("labels", {}), m.get("spec", {})
    if m["kind"] == "CronJob":
        template = m.get("spec", {}).get("jobTemplate", {}).get("spec", {}).get("template", {})
    elif m["kind"] in WORKLOADS:
        template = m.get("spec", {}).get("template", {})
    else:
        return None
    return template.get("metadata", {}).get("labels", {}), template.get("spec", {})


def service_ports(spec: dict[str, Any]) -> set[int]:
    return {int(p["port"]) for p in spec.get("ports", [])}


def build(
    manifests: list[dict[str, Any]], releases: list[Release], kind: bool, pod_cidr: str
) -> Cluster:
    from . import charts, operators

    cluster = Cluster(kind=kind, manifests=manifests, releases=releases)
    cluster.namespaces["kube-system"] = {}
    for m in manifests:
        meta = m["metadata"]
        ns = meta.get("namespace", "")
        if m["kind"] == "Namespace":
            cluster.namespaces[meta["name"]] = dict(meta.get("labels", {}))
        elif m["kind"] == "Secret":
            cluster.secrets[(ns, meta["name"])] = "declared"
        elif m["kind"] == "ConfigMap":
            cluster.configmaps[(ns, meta["name"])] = "declared"
        elif m["kind"] == "Service":
            cluster.services.append(
                Service(ns, meta["name"], service_ports(m.get("spec", {})), "declared")
            )
        elif m["kind"] == "NetworkPolicy":
            cluster.policies.append(m)
        found = pod_template(m)
        if found is not None:
            labels, spec = found
            cluster.pods.append(Pod(ns, meta["name"], labels, spec, f"{m['kind']}", ours=True))
    # Cluster add-ons every cluster has: DNS.
    cluster.pods.append(
        Pod("kube-system", "coredns", {"k8s-app": "kube-dns"}, {}, "the cluster's DNS")
    )
    for release in releases:
        charts.render(cluster, release)
    operators.render(cluster)
    for name, labels in cluster.namespaces.items():
        labels["kubernetes.io/metadata.name"] = name
    addresses = ipaddress.ip_network(pod_cidr).hosts()
    next(addresses)
    for pod in cluster.pods:
        pod.ip = str(next(addresses))
    return cluster

"""One user workspace: its namespace and everything a code-server session needs there.

Namespace `user-{u}-ws-{w}` from the one naming function, labelled for Pod Security "restricted";
ResourceQuota and LimitRange from the one tier definition; a PVC for the workspace's files; a
ServiceAccount without an automounted token; the code-server Deployment, whose replica count
Pulumi ignores (console sessions scale it 0 ↔ 1); its Service; an Ingress behind Authelia with
WebSocket-safe timeouts; and its network policy. Usable inside the platform program or alone as a
per-workspace stack (the CLI's `vibe workspaces create`).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
from vibecode_platform.tenancy import tier as tier_of
from vibecode_platform.tenancy import workspace_namespace

from .. import hardening
from . import network
from .edge import INGRESS_NS, ingress_spec, namespace

PORT = 8080
LABELS = {"app.kubernetes.io/name": "code-server"}


class Workspace(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        *,
        user: str,
        workspace: str,
        tier: str,
        domain: str,
        environment: str,
        image: str,
        auth_annotations: dict[str, str],
        tls_annotations: dict[str, str],
        storage_class: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("vibecode:workspace:Workspace", name, None, opts)
        ns_name = workspace_namespace(user, workspace)
        spec = tier_of(tier)
        res = spec.workspace
        self.namespace_name = ns_name
        ns = namespace(
            ns_name,
            pulumi.ResourceOptions(parent=self),
            labels={"vibecode.dev/user": _label(user), "vibecode.dev/tier": spec.name},
        )
        child = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        k8s.core.v1.ResourceQuota(
            f"{ns_name}-quota",
            metadata={"name": "workspace-quota", "namespace": ns_name},
            spec={
                "hard": {
                    "requests.cpu": res.cpu_request,
                    "requests.memory": res.memory_request,
                    "limits.cpu": res.cpu_limit,
                    "limits.memory": res.memory_limit,
                    "requests.storage": res.storage,
                    "persistentvolumeclaims": "1",
                    "pods": "2",
                    "services": "2",
                }
            },
            opts=child,
        )
        k8s.core.v1.LimitRange(
            f"{ns_name}-limits",
            metadata={"name": "workspace-limits", "namespace": ns_name},
            spec={
                "limits": [
                    {
                        "type": "Container",
                        "default": {"cpu": res.cpu_limit, "memory": res.memory_limit},
                        "defaultRequest": {"cpu": res.cpu_request, "memory": res.memory_request},
                        "max": {"cpu": res.cpu_limit, "memory": res.memory_limit},
                    }
                ]
            },
            opts=child,
        )
        k8s.core.v1.PersistentVolumeClaim(
            f"{ns_name}-home",
            metadata={"name": "workspace-home", "namespace": ns_name},
            spec={
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": res.storage}},
                **({"storageClassName": storage_class} if storage_class else {}),
            },
            opts=child,
        )
        k8s.core.v1.ServiceAccount(
            f"{ns_name}-sa",
            metadata={"name": "code-server", "namespace": ns_name},
            automount_service_account_token=False,
            opts=child,
        )
        version = image.rsplit(":", 1)[-1] if ":" in image else "unknown"
        labels = {
            **hardening.labels("code-server", environment, version),
            **LABELS,
            "vibecode.dev/workspace": _label(workspace),
        }
        k8s.apps.v1.Deployment(
            f"{ns_name}-code-server",
            metadata={
                "name": "code-server",
                "namespace": ns_name,
                "labels": labels,
                "annotations": {
                    "checkov.io/skip1": "CKV_K8S_43=the workspace image is pinned by tag in stack "
                    "config; CI resolves digests at deploy time"
                },
            },
            spec={
                "replicas": 0,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": LABELS},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": "code-server",
                        "automountServiceAccountToken": False,
                        "securityContext": hardening.pod_security(uid=10001),
                        "containers": [
                            {
                                "name": "code-server",
                                "image": image,
                                "imagePullPolicy": hardening.image_pull(image),
                                "args": [
                                    "--bind-addr",
                                    f"0.0.0.0:{PORT}",
                                    "--auth",
                                    "none",
                                    "--disable-telemetry",
                                    "--disable-update-check",
                                    "/home/coder/project",
                                ],
                                "ports": [{"containerPort": PORT, "name": "http"}],
                                "resources": hardening.resources(
                                    res.cpu_request,
                                    res.cpu_limit,
                                    res.memory_request,
                                    res.memory_limit,
                                ),
                                "livenessProbe": hardening.http_probe("/healthz", PORT, period=20),
                                "readinessProbe": hardening.http_probe("/healthz", PORT, period=5),
                                "securityContext": hardening.container_security(
                                    read_only_root=True
                                ),
                                "volumeMounts": [
                                    {"name": "home", "mountPath": "/home/coder"},
                                    {"name": "tmp", "mountPath": "/tmp"},
                                ],
                            }
                        ],
                        "volumes": [
                            {
                                "name": "home",
                                "persistentVolumeClaim": {"claimName": "workspace-home"},
                            },
                            {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
                        ],
                    },
                },
            },
            # Console sessions own the replica count (0 when stopped, 1 when running).
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[ns], ignore_changes=["spec.replicas"]
            ),
        )
        k8s.core.v1.Service(
            f"{ns_name}-svc",
            metadata={"name": "code-server", "namespace": ns_name},
            spec={"selector": LABELS, "ports": [{"name": "http", "port": 80, "targetPort": PORT}]},
            opts=child,
        )
        host = f"{ns_name}.{domain}"
        k8s.networking.v1.Ingress(
            f"{ns_name}-ingress",
            metadata={
                "name": "code-server",
                "namespace": ns_name,
                "annotations": {
                    **auth_annotations,
                    **tls_annotations,
                    "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
                    "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
                },
            },
            spec=ingress_spec(host, "code-server", "code-server-tls"),
            opts=child,
        )
        network.default_deny(ns_name, ns_name, child)
        network.policy(
            f"{ns_name}-traffic",
            ns_name,
            ingress=[{"from": [network.ns_selector(INGRESS_NS)], "ports": [{"port": PORT}]}],
            egress=[network.DNS_EGRESS, network.INTERNET_EGRESS],
            opts=child,
        )
        self.host = host
        self.register_outputs({"namespace": ns_name, "host": host})


def _label(value: str) -> str:
    """A label value (63 characters of [A-Za-z0-9._-]); the namespace name is the real key."""
    import re

    cleaned = re.sub(r"[^A-Za-z0-9._-]", "-", value)[:63].strip("-._")
    return cleaned or "x"

"""One user workspace: its namespace and everything a code-server session needs there.

Namespace `user-{u}-ws-{w}` from the one naming function, labelled for Pod Security "restricted";
ResourceQuota and LimitRange from the one tier definition (plus room for cert-manager's HTTP-01
solver pod on ACME stacks); a PVC for the workspace's home; a ServiceAccount without an
automounted token; the code-server Deployment, whose replica count Pulumi ignores (console
sessions scale it 0 ↔ 1); its Service; an Ingress whose forward auth is the API's owner check
(only the workspace's owner gets through, admins included: nobody else); and its network policy.
Usable inside the platform program or alone as a per-workspace stack (`vibe workspaces create`).

The home volume is mounted at /home/coder, which would hide whatever the image put there: the
image keeps its extensions in /opt/vibecode/extensions (code-server's `--extensions-dir`) and a
skeleton home in /opt/vibecode/home, which an init container copies into the volume without
overwriting anything (`cp -n`), so the first start gets the project folder and a later image's
new files appear without touching the user's.
"""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from vibecode_core.tenancy import WorkspaceResources, user_namespace, workspace_namespace
from vibecode_core.tenancy import tier as tier_of

from .. import hardening
from ..config import StackConfig
from ..quantities import bytes_of, millicores
from . import charts, network
from .addresses import INGRESS_NS
from .base import ingress_spec, namespace
from .edge import tls_annotations, workspace_auth_annotations

PORT = 8080
LABELS = {"app.kubernetes.io/name": "code-server"}
EXTENSIONS_DIR = "/opt/vibecode/extensions"
SKELETON = "/opt/vibecode/home"
HOME = "/home/coder"
PROJECT = f"{HOME}/project"
SEED = ["sh", "-c", f"cp -Rn {SKELETON}/. {HOME}/"]


def quota(res: WorkspaceResources, acme: bool) -> dict[str, str]:
    """The namespace's ResourceQuota: exactly one code-server pod, plus on ACME stacks room for
    cert-manager's HTTP-01 solver pod (`charts.ACME_SOLVER_RESOURCES`), or the certificate for
    the workspace's host would never be issued."""
    hard = {
        "requests.cpu": res.cpu_request,
        "requests.memory": res.memory_request,
        "limits.cpu": res.cpu_limit,
        "limits.memory": res.memory_limit,
    }
    if acme:
        solver = charts.ACME_SOLVER_RESOURCES
        for key, value in list(hard.items()):
            kind, resource = key.split(".")
            extra = solver[kind][resource]
            if resource == "cpu":
                hard[key] = f"{millicores(value) + millicores(extra)}m"
            else:
                hard[key] = f"{(bytes_of(value) + bytes_of(extra)) // 2**20}Mi"
    return {
        **hard,
        "requests.storage": res.storage,
        "persistentvolumeclaims": "1",
        "pods": "2",
        "services": "2",
    }


def pod_spec(image: str, res: WorkspaceResources, kind: bool) -> dict[str, Any]:
    """The code-server pod (a pure function, so tests can read it without the mock engine)."""
    pull = hardening.image_pull(kind)
    limits = hardening.resources(
        res.cpu_request, res.cpu_limit, res.memory_request, res.memory_limit
    )
    return {
        "serviceAccountName": "code-server",
        "automountServiceAccountToken": False,
        "securityContext": hardening.pod_security(uid=10001),
        "initContainers": [
            {
                "name": "seed-home",
                "image": image,
                "imagePullPolicy": pull,
                "command": SEED,
                "resources": hardening.resources("50m", "200m", "64Mi", "128Mi"),
                "securityContext": hardening.container_security(),
                "volumeMounts": [{"name": "home", "mountPath": HOME}],
            }
        ],
        "containers": [
            {
                "name": "code-server",
                "image": image,
                "imagePullPolicy": pull,
                "args": [
                    "--bind-addr",
                    f"0.0.0.0:{PORT}",
                    # Authentication and the owner check happen at the ingress; only
                    # ingress-nginx may connect (the namespace's policy).
                    "--auth",
                    "none",
                    "--extensions-dir",
                    EXTENSIONS_DIR,
                    "--disable-telemetry",
                    "--disable-update-check",
                    PROJECT,
                ],
                "ports": [{"containerPort": PORT, "name": "http"}],
                "resources": limits,
                "livenessProbe": hardening.http_probe("/healthz", PORT, period=20),
                "readinessProbe": hardening.http_probe("/healthz", PORT, period=5),
                "securityContext": hardening.container_security(read_only_root=True),
                "volumeMounts": [
                    {"name": "home", "mountPath": HOME},
                    {"name": "tmp", "mountPath": "/tmp"},
                ],
            }
        ],
        "volumes": [
            {"name": "home", "persistentVolumeClaim": {"claimName": "workspace-home"}},
            {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
        ],
    }


class Workspace(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        *,
        user: str,
        workspace: str,
        tier: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("vibecode:workspace:Workspace", name, None, opts)
        ns_name = workspace_namespace(user, workspace)
        spec = tier_of(tier)
        res = spec.workspace
        acme = cfg.tls.issuer == "acme"
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
            spec={"hard": quota(res, acme)},
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
                **({"storageClassName": cfg.storage_class} if cfg.storage_class else {}),
            },
            opts=child,
        )
        k8s.core.v1.ServiceAccount(
            f"{ns_name}-sa",
            metadata={"name": "code-server", "namespace": ns_name},
            automount_service_account_token=False,
            opts=child,
        )
        image = cfg.workspace_image
        version = image.rsplit(":", 1)[-1] if ":" in image else "unknown"
        labels = {
            **hardening.labels("code-server", cfg.environment, version),
            **LABELS,
            "vibecode.dev/workspace": _label(workspace),
        }
        annotations = {
            "checkov.io/skip1": "CKV_K8S_43=the workspace image is pinned by tag in stack "
            "config; CI resolves digests at deploy time"
        }
        if cfg.kind:
            annotations["checkov.io/skip2"] = hardening.KIND_PULL_SKIP
        k8s.apps.v1.Deployment(
            f"{ns_name}-code-server",
            metadata={
                "name": "code-server",
                "namespace": ns_name,
                "labels": labels,
                "annotations": annotations,
            },
            spec={
                "replicas": 0,
                "strategy": {"type": "Recreate"},
                "selector": {"matchLabels": LABELS},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": pod_spec(image, res, cfg.kind),
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
        host = f"{ns_name}.{cfg.domain}"
        k8s.networking.v1.Ingress(
            f"{ns_name}-ingress",
            metadata={
                "name": "code-server",
                "namespace": ns_name,
                "annotations": {
                    **workspace_auth_annotations(cfg, user_namespace(user)),
                    **tls_annotations(cfg),
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
        if acme:
            network.acme_solver(ns_name, ns_name, child)
        self.host = host
        self.register_outputs({"namespace": ns_name, "host": host})


def _label(value: str) -> str:
    """A label value (63 characters of [A-Za-z0-9._-]); the namespace name is the real key."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "-", value)[:63].strip("-._")
    return cleaned or "x"

"""The Litestar API as blue and green Deployments behind an active and a preview Service.

The live colour and each colour's image come from stack config (`vibecode:api.activeColor`,
`vibecode:api.images`); the active Service selects the live colour, the preview Service the idle
one, so a new image can be smoke-tested before traffic moves (the CLI's `vibe deploy`). Probes on
`/api/health/live` and `/api/health/ready`, requests and limits, a PodDisruptionBudget, Datadog
unified service tags on the Deployment and its pods, and the Ingress behind Authelia.

Identity: Remote-* headers count only from the ingress controller's pod network (narrowed to
`vibecode:network.podCidrs` when the stack knows it) and only with the ingress's proxy secret
(`VIBE_PROXY_SECRET`), so they do not rest on the CNI enforcing NetworkPolicy.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .. import hardening
from ..config import Embedder, StackConfig
from . import network
from .addresses import (
    API_NS,
    API_PORT,
    API_SERVICE,
    AUTH_NS,
    AUTH_PORT,
    AUTHELIA_AUTHZ_URL,
    CLAMD_PORT,
    CLAMD_URL,
    DB_NS,
    INGRESS_NS,
    SCANNER_NS,
)
from .base import ingress_spec, namespace
from .edge import auth_annotations, tls_annotations
from .observability import APM_PORT, DOGSTATSD_PORT

PORT = API_PORT
EMBEDDER_PORT = 8081
COMPONENT = "api"
DB_SECRET = "vibecode-db"  # noqa: S105 - the Secret's name
PROXY_SECRET = "vibecode-proxy-secret"  # noqa: S105 - the Secret's name
LOOPBACK = "127.0.0.1/32"
"""`kubectl port-forward` arrives from the pod's loopback (vibe deploy's smoke tests)."""


def trusted_proxies(cfg: StackConfig) -> str:
    from .network import PRIVATE_RANGES

    return ",".join([*(cfg.network.pod_cidrs or PRIVATE_RANGES), LOOPBACK])


class Api(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        database_uri: pulumi.Input[str],
        proxy_secret: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("vibecode:api:Api", name, None, opts)
        ns = namespace(API_NS, pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        api = cfg.api
        k8s.core.v1.Secret(
            DB_SECRET,
            metadata={"name": DB_SECRET, "namespace": API_NS},
            string_data={"uri": database_uri},
            opts=child,
        )
        k8s.core.v1.Secret(
            PROXY_SECRET,
            metadata={"name": PROXY_SECRET, "namespace": API_NS},
            string_data={"secret": proxy_secret},
            opts=child,
        )
        sa = k8s.core.v1.ServiceAccount(
            "vibecode-api",
            metadata={"name": "vibecode-api", "namespace": API_NS},
            automount_service_account_token=False,
            opts=child,
        )
        # Sessions scale workspace Deployments: only that verb on that resource, cluster-wide.
        role = k8s.rbac.v1.ClusterRole(
            "vibecode-api-sessions",
            metadata={"name": "vibecode-api-sessions"},
            rules=[
                {
                    "apiGroups": ["apps"],
                    "resources": ["deployments"],
                    "verbs": ["get", "patch"],
                    "resourceNames": ["code-server"],
                },
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]},
            ],
            opts=child,
        )
        k8s.rbac.v1.ClusterRoleBinding(
            "vibecode-api-sessions",
            metadata={"name": "vibecode-api-sessions"},
            role_ref={
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role.metadata["name"],
            },
            subjects=[{"kind": "ServiceAccount", "name": "vibecode-api", "namespace": API_NS}],
            opts=child,
        )
        config = k8s.core.v1.ConfigMap(
            "vibecode-api-env",
            metadata={"name": "vibecode-api-env", "namespace": API_NS},
            data={
                "VIBE_HOST": "0.0.0.0",
                "VIBE_PORT": str(PORT),
                "VIBE_LOG_LEVEL": "info",
                "VIBE_TRUSTED_PROXIES": trusted_proxies(cfg),
                "VIBE_AUTHZ_URL": AUTHELIA_AUTHZ_URL,
                "VIBE_PROVISIONER": "kubernetes",
                "VIBE_WORKSPACE_DOMAIN": cfg.domain,
                "VIBE_DATA_DIR": "/tmp/vibe",
                "DD_ENV": cfg.environment,
                "DD_SERVICE": "vibecode-api",
                # Datadog off: no agent to send to, Prometheus /metrics stays.
                "VIBE_DOGSTATSD": "true" if cfg.datadog.enabled else "false",
                "DD_TRACE_ENABLED": "true" if cfg.datadog.enabled else "false",
                "DD_LOGS_INJECTION": "true",
                # Every upload is scanned before it is stored; clamd away means 503 (closed).
                **({"VIBE_CLAMD_URL": CLAMD_URL} if cfg.scanner.enabled else {}),
            },
            opts=child,
        )
        self.deployments = {}
        autoscaled = cfg.datadog.enabled and cfg.datadog.autoscaling.mode != "none"
        for color in ("blue", "green"):
            # The autoscaler owns the live colour's replica count; `pulumi up` must not reset it.
            owned = autoscaled and color == api.active_color
            opts = pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(ignore_changes=["spec.replicas"] if owned else None)
            )
            self.deployments[color] = self._deployment(cfg, color, config, sa, opts)
        selector = {"app.kubernetes.io/name": COMPONENT}
        self.active = k8s.core.v1.Service(
            "vibecode-api",
            metadata={"name": "vibecode-api", "namespace": API_NS, "labels": {"role": "active"}},
            spec={
                "selector": {**selector, "vibecode.dev/color": api.active_color},
                "ports": [{"name": "http", "port": 80, "targetPort": PORT}],
            },
            opts=child,
        )
        self.preview = k8s.core.v1.Service(
            "vibecode-api-preview",
            metadata={
                "name": "vibecode-api-preview",
                "namespace": API_NS,
                "labels": {"role": "preview"},
            },
            spec={
                "selector": {**selector, "vibecode.dev/color": api.idle_color},
                "ports": [{"name": "http", "port": 80, "targetPort": PORT}],
            },
            opts=child,
        )
        # maxUnavailable, not minAvailable: with one replica (dev) minAvailable 1 would refuse
        # every eviction and block node drains; this lets one pod go at a time at any size.
        k8s.policy.v1.PodDisruptionBudget(
            "vibecode-api",
            metadata={"name": "vibecode-api", "namespace": API_NS},
            spec={
                "maxUnavailable": 1,
                "selector": {"matchLabels": {**selector, "vibecode.dev/color": api.active_color}},
            },
            opts=child,
        )
        host = cfg.host("app")
        k8s.networking.v1.Ingress(
            "vibecode-api",
            metadata={
                "name": API_SERVICE,
                "namespace": API_NS,
                "annotations": {**auth_annotations(cfg), **tls_annotations(cfg)},
            },
            spec=ingress_spec(host, API_SERVICE, "vibecode-app-tls"),
            opts=child,
        )
        network.default_deny("vibecode", API_NS, child)
        network.policy(
            "vibecode-api-traffic",
            API_NS,
            ingress=[
                {"from": [network.ns_selector(INGRESS_NS)], "ports": [{"port": PORT}]},
            ],
            egress=[
                network.DNS_EGRESS,
                {"to": [network.ns_selector(DB_NS)], "ports": [{"port": 5432}]},
                # Authelia: the workspace owner check asks it who is signed in.
                {"to": [network.ns_selector(AUTH_NS)], "ports": [{"port": AUTH_PORT}]},
                # clamd: uploads are scanned before they are stored.
                *(
                    [{"to": [network.ns_selector(SCANNER_NS)], "ports": [{"port": CLAMD_PORT}]}]
                    if cfg.scanner.enabled
                    else []
                ),
                # LLM providers and the Kubernetes API (sessions): HTTPS, never the metadata service.
                {**network.ANY_EXCEPT_METADATA, "ports": [{"port": 443}, {"port": 6443}]},
                # The node's Datadog agent (status.hostIP): DogStatsD and traces.
                *(
                    [
                        {
                            **network.ANY_EXCEPT_METADATA,
                            "ports": [
                                {"protocol": "UDP", "port": DOGSTATSD_PORT},
                                {"protocol": "TCP", "port": APM_PORT},
                            ],
                        }
                    ]
                    if cfg.datadog.enabled
                    else []
                ),
            ],
            opts=child,
        )
        if cfg.tls.issuer == "acme":
            network.acme_solver("vibecode", API_NS, child)
        self.register_outputs({"activeColor": api.active_color, "host": host})

    def _deployment(
        self,
        cfg: StackConfig,
        color: str,
        config: k8s.core.v1.ConfigMap,
        sa: k8s.core.v1.ServiceAccount,
        opts: pulumi.ResourceOptions,
    ) -> k8s.apps.v1.Deployment:
        api = cfg.api
        image = api.images[color]  # type: ignore[index]
        version = image.rsplit(":", 1)[-1] if ":" in image else api.version
        labels = hardening.labels(
            COMPONENT, cfg.environment, version, **{"vibecode.dev/color": color}
        )
        selector = {"app.kubernetes.io/name": COMPONENT, "vibecode.dev/color": color}
        return k8s.apps.v1.Deployment(
            f"vibecode-api-{color}",
            metadata={
                "name": f"vibecode-api-{color}",
                "namespace": API_NS,
                "labels": labels,
                "annotations": {
                    "checkov.io/skip1": "CKV_K8S_43=images are pinned by tag in stack config; "
                    "CI resolves digests at deploy time",
                    "checkov.io/skip2": "CKV_K8S_35=12-factor: the database URL is an env var "
                    "from the CloudNativePG secret, read once at start",
                    "checkov.io/skip3": "CKV_K8S_38=the API scales workspace Deployments through "
                    "the Kubernetes API (RBAC: get/patch code-server only)",
                    **({"checkov.io/skip4": hardening.KIND_PULL_SKIP} if cfg.kind else {}),
                },
            },
            spec={
                "replicas": api.replicas,
                "selector": {"matchLabels": selector},
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
                },
                "template": {
                    "metadata": {
                        "labels": labels,
                        "annotations": {
                            "ad.datadoghq.com/api.logs": '[{"source": "python", "service": '
                            '"vibecode-api"}]'
                        },
                    },
                    "spec": {
                        "serviceAccountName": sa.metadata["name"],
                        "automountServiceAccountToken": True,  # sessions call the Kubernetes API
                        "securityContext": hardening.pod_security(),
                        "containers": [
                            {
                                "name": COMPONENT,
                                "image": image,
                                "imagePullPolicy": hardening.image_pull(cfg.kind),
                                "ports": [{"containerPort": PORT, "name": "http"}],
                                "envFrom": [{"configMapRef": {"name": config.metadata["name"]}}],
                                "env": [
                                    {
                                        "name": "VIBE_DATABASE_URL",
                                        "valueFrom": {
                                            "secretKeyRef": {"name": DB_SECRET, "key": "uri"}
                                        },
                                    },
                                    {
                                        "name": "VIBE_PROXY_SECRET",
                                        "valueFrom": {
                                            "secretKeyRef": {"name": PROXY_SECRET, "key": "secret"}
                                        },
                                    },
                                    {"name": "DD_VERSION", "value": version},
                                    {
                                        "name": "DD_AGENT_HOST",
                                        "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}},
                                    },
                                    {
                                        "name": "VIBE_EMBEDDER_URL",
                                        "value": f"http://127.0.0.1:{EMBEDDER_PORT}",
                                    },
                                ],
                                "resources": hardening.resources(
                                    api.cpu_request,
                                    api.cpu_limit,
                                    api.memory_request,
                                    api.memory_limit,
                                ),
                                "livenessProbe": hardening.http_probe("/api/health/live", PORT),
                                "readinessProbe": hardening.http_probe(
                                    "/api/health/ready", PORT, period=5
                                ),
                                "startupProbe": hardening.http_probe(
                                    "/api/health/live", PORT, period=2, failures=30
                                ),
                                "securityContext": hardening.container_security(),
                                "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
                            },
                            _embedder(image, api.embedder, cfg.kind),
                        ],
                        "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}}],
                    },
                },
            },
            opts=opts,
        )


def _embedder(image: str, res: Embedder, kind: bool) -> dict[str, Any]:
    """The MiniLM embedder beside the API (same image): the API reaches it on loopback; the
    namespace's policy admits only the API port from outside the pod."""
    return {
        "name": "embedder",
        "image": image,
        "imagePullPolicy": hardening.image_pull(kind),
        "command": ["python", "-m", "vibecode_api.rag.embed_server"],
        "args": ["--host", "0.0.0.0", "--port", str(EMBEDDER_PORT)],
        "ports": [{"containerPort": EMBEDDER_PORT, "name": "embedder"}],
        "env": [  # one ONNX run per CPU of its limit (rounded up), not per CPU of the node
            {
                "name": "VIBE_EMBEDDER_THREADS",
                "valueFrom": {
                    "resourceFieldRef": {
                        "containerName": "embedder",
                        "resource": "limits.cpu",
                        "divisor": "1",
                    }
                },
            }
        ],
        "resources": hardening.resources(
            res.cpu_request, res.cpu_limit, res.memory_request, res.memory_limit
        ),
        "livenessProbe": hardening.http_probe("/healthz", EMBEDDER_PORT),
        "readinessProbe": hardening.http_probe("/healthz", EMBEDDER_PORT, period=5),
        "startupProbe": hardening.http_probe("/healthz", EMBEDDER_PORT, period=2, failures=30),
        "securityContext": hardening.container_security(),
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }

"""clamd, the virus scanner every upload passes before it is stored (the API's VIBE_CLAMD_URL).

The image is ClamAV's own (config.Scanner.image). Facts from Cisco-Talos/clamav-docker at
ba18a8c, clamav/1.4/debian, that this component relies on:
- Dockerfile: the `clamav` user is uid/gid 1000 and owns /var/lib/clamav (the signature
  databases, built into tags without `_base`) and /var/log/clamav; clamd.conf listens on TCP
  3310 and on /tmp/clamd.sock; freshclam.conf notifies clamd after an update.
- scripts/docker-entrypoint-unprivileged.sh (`/init-unprivileged`): starts freshclam as a daemon
  (signature updates, `FRESHCLAM_CHECKS` a day) and clamd, without root.
- scripts/clamdcheck.sh: `PING` to localhost:3310 must answer `PONG`; the Dockerfile's
  HEALTHCHECK gives it a 6-minute start period (loading the signatures takes minutes).

The root filesystem is read-only: an init container copies the built-in databases into a volume
mounted over /var/lib/clamav, where freshclam then keeps them current (mounting an empty volume
there instead would hide them and make every start download the whole set).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from .. import hardening
from ..config import StackConfig
from . import network
from .addresses import API_NS, CLAMD_PORT, CLAMD_SERVICE, SCANNER_NS
from .base import namespace

COMPONENT = "clamd"
UID = 1000
"""The image's `clamav` user."""
DATABASES = "/var/lib/clamav"


class Scanner(pulumi.ComponentResource):
    def __init__(
        self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vibecode:scanner:Scanner", name, None, opts)
        ns = namespace(SCANNER_NS, pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        spec = cfg.scanner
        version = spec.image.rsplit(":", 1)[-1]
        labels = hardening.labels(COMPONENT, cfg.environment, version)
        selector = {"app.kubernetes.io/name": COMPONENT}
        check = {"exec": {"command": ["clamdcheck.sh"]}, "timeoutSeconds": 5}
        container_security = hardening.container_security()
        k8s.apps.v1.Deployment(
            COMPONENT,
            metadata={
                "name": COMPONENT,
                "namespace": SCANNER_NS,
                "labels": labels,
                "annotations": {
                    "checkov.io/skip1": "CKV_K8S_43=the image is pinned by tag in stack config",
                    "checkov.io/skip2": "CKV_K8S_40=the image's files belong to its clamav user, "
                    "uid 1000 (its Dockerfile: useradd -u 1000; /var/lib/clamav is that user's "
                    "home), so another uid could not read the built-in signatures",
                    **({"checkov.io/skip3": hardening.KIND_PULL_SKIP} if cfg.kind else {}),
                },
            },
            spec={
                "replicas": 1,
                "selector": {"matchLabels": selector},
                "template": {
                    "metadata": {
                        "labels": labels,
                        "annotations": {
                            "ad.datadoghq.com/clamd.logs": '[{"source": "clamav", "service": '
                            '"vibecode-clamd"}]'
                        },
                    },
                    "spec": {
                        "automountServiceAccountToken": False,
                        "securityContext": hardening.pod_security(UID),
                        "initContainers": [
                            {
                                "name": "seed-databases",
                                "image": spec.image,
                                "imagePullPolicy": hardening.image_pull(cfg.kind),
                                "command": ["sh", "-c", f"cp -a {DATABASES}/. /seed/"],
                                "resources": hardening.resources("50m", "500m", "64Mi", "256Mi"),
                                "securityContext": container_security,
                                "volumeMounts": [{"name": "databases", "mountPath": "/seed"}],
                            }
                        ],
                        "containers": [
                            {
                                "name": COMPONENT,
                                "image": spec.image,
                                "imagePullPolicy": hardening.image_pull(cfg.kind),
                                "command": ["/init-unprivileged"],
                                "ports": [{"containerPort": CLAMD_PORT, "name": "clamd"}],
                                "resources": hardening.resources(
                                    spec.cpu_request,
                                    spec.cpu_limit,
                                    spec.memory_request,
                                    spec.memory_limit,
                                ),
                                # The image's HEALTHCHECK start period: 36 x 10 s = 6 minutes.
                                "startupProbe": {
                                    **check,
                                    "periodSeconds": 10,
                                    "failureThreshold": 36,
                                },
                                "livenessProbe": {
                                    **check,
                                    "periodSeconds": 30,
                                    "failureThreshold": 3,
                                },
                                "readinessProbe": {
                                    **check,
                                    "periodSeconds": 10,
                                    "failureThreshold": 2,
                                },
                                "securityContext": container_security,
                                "volumeMounts": [
                                    {"name": "databases", "mountPath": DATABASES},
                                    {"name": "logs", "mountPath": "/var/log/clamav"},
                                    {"name": "tmp", "mountPath": "/tmp"},
                                ],
                            }
                        ],
                        "volumes": [
                            # The signature set is a few hundred MiB; an update holds two copies.
                            {"name": "databases", "emptyDir": {"sizeLimit": "2Gi"}},
                            {"name": "logs", "emptyDir": {"sizeLimit": "256Mi"}},
                            {"name": "tmp", "emptyDir": {"sizeLimit": "256Mi"}},
                        ],
                    },
                },
            },
            opts=child,
        )
        k8s.core.v1.Service(
            CLAMD_SERVICE,
            metadata={"name": CLAMD_SERVICE, "namespace": SCANNER_NS},
            spec={
                "selector": selector,
                "ports": [{"name": "clamd", "port": CLAMD_PORT, "targetPort": CLAMD_PORT}],
            },
            opts=child,
        )
        network.default_deny("vibecode-scanner", SCANNER_NS, child)
        network.policy(
            "clamd-traffic",
            SCANNER_NS,
            ingress=[{"from": [network.ns_selector(API_NS)], "ports": [{"port": CLAMD_PORT}]}],
            # freshclam: the signature mirror (database.clamav.net) over HTTPS, nothing internal.
            egress=[network.DNS_EGRESS, {**network.INTERNET_EGRESS, "ports": [{"port": 443}]}],
            opts=child,
        )
        self.register_outputs({})

"""cert-manager (Helm, pinned) and the stack's ClusterIssuer: a self-signed CA for KIND, ACME
(HTTP-01 through ingress-nginx) for prod.

HTTP-01 solver pods run in each certificate's own namespace on port 8089 (charts.CERT_MANAGER);
every namespace with an ACME Ingress admits them from ingress-nginx (`network.acme_solver`) and
a workspace's quota leaves room for one (`charts.ACME_SOLVER_RESOURCES`, `workspace.quota`).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from .. import hardening
from ..config import StackConfig
from . import charts, network
from .addresses import CERT_NS
from .base import helm_release, namespace


def issuer_name(cfg: StackConfig) -> str:
    return "letsencrypt" if cfg.tls.issuer == "acme" else "vibecode-local-ca"


class CertManager(pulumi.ComponentResource):
    def __init__(
        self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vibecode:edge:CertManager", name, None, opts)
        ns = namespace(CERT_NS, pulumi.ResourceOptions(parent=self))
        after_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        self.release = helm_release(
            charts.CERT_MANAGER,
            CERT_NS,
            {
                "crds": {"enabled": True},
                "resources": hardening.resources("50m", "500m", "64Mi", "256Mi"),
            },
            after_ns,
        )
        network.default_deny("cert-manager", CERT_NS, after_ns)
        network.policy(
            "cert-manager-traffic",
            CERT_NS,
            ingress=[{"ports": [{"port": 10250}, {"port": 9402}]}],
            egress=[network.DNS_EGRESS, network.ANY_EXCEPT_METADATA],
            opts=after_ns,
        )
        self.issuer_name = issuer_name(cfg)
        issuers = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        if cfg.tls.issuer == "acme":
            k8s.apiextensions.CustomResource(
                "letsencrypt",
                api_version="cert-manager.io/v1",
                kind="ClusterIssuer",
                metadata={"name": self.issuer_name},
                spec={
                    "acme": {
                        "email": cfg.tls.acme_email,
                        "server": cfg.tls.acme_server,
                        "privateKeySecretRef": {"name": "letsencrypt-account"},
                        "solvers": [{"http01": {"ingress": {"ingressClassName": "nginx"}}}],
                    }
                },
                opts=issuers,
            )
        else:
            k8s.apiextensions.CustomResource(
                "selfsigned",
                api_version="cert-manager.io/v1",
                kind="ClusterIssuer",
                metadata={"name": "selfsigned"},
                spec={"selfSigned": {}},
                opts=issuers,
            )
            k8s.apiextensions.CustomResource(
                "local-ca",
                api_version="cert-manager.io/v1",
                kind="Certificate",
                metadata={"name": "vibecode-local-ca", "namespace": CERT_NS},
                spec={
                    "isCA": True,
                    "commonName": "VibeCode local CA",
                    "secretName": "vibecode-local-ca",
                    "privateKey": {"algorithm": "ECDSA", "size": 256},
                    "issuerRef": {
                        "name": "selfsigned",
                        "kind": "ClusterIssuer",
                        "group": "cert-manager.io",
                    },
                },
                opts=issuers,
            )
            k8s.apiextensions.CustomResource(
                "local-ca-issuer",
                api_version="cert-manager.io/v1",
                kind="ClusterIssuer",
                metadata={"name": self.issuer_name},
                spec={"ca": {"secretName": "vibecode-local-ca"}},
                opts=issuers,
            )
        self.register_outputs({"issuer": self.issuer_name})

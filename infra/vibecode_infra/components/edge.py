"""The edge: ingress-nginx, cert-manager with its issuers, and Authelia in front of everything.

- ingress-nginx (Helm, pinned) with 3600 s proxy read/send timeouts so code-server's WebSockets
  survive, HTTP redirected to HTTPS, HSTS in prod, and snippet annotations disabled.
- cert-manager (Helm, pinned) with a self-signed CA for KIND and an ACME issuer for prod.
- Authelia (Helm, pinned): `default_policy: deny`, `two_factor` for the platform's hosts, file
  users, local storage on a volume, generated secrets. `auth_annotations` is what every protected
  Ingress carries; Authelia's own Ingress carries none.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .. import hardening
from ..config import StackConfig
from . import charts, network

INGRESS_NS = "ingress-nginx"
CERT_NS = "cert-manager"
AUTH_NS = "authelia"
AUTH_PORT = 9091


def helm_release(
    name: str,
    chart: charts.Chart,
    namespace: str,
    values: dict[str, Any],
    opts: pulumi.ResourceOptions,
) -> k8s.helm.v3.Release:
    return k8s.helm.v3.Release(
        name,
        chart=chart.name,
        version=chart.version,
        namespace=namespace,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo),
        values=values,
        atomic=True,
        cleanup_on_fail=True,
        timeout=600,
        opts=opts,
    )


def namespace(
    name: str,
    opts: pulumi.ResourceOptions,
    pss: str = "restricted",
    labels: dict[str, str] | None = None,
) -> k8s.core.v1.Namespace:
    """A namespace of ours with its Pod Security level. Violations of `restricted` are audited
    and warned about everywhere except where privileged pods are the namespace's purpose."""
    report = "privileged" if pss == "privileged" else "restricted"
    return k8s.core.v1.Namespace(
        name,
        metadata={
            "name": name,
            "labels": {
                "app.kubernetes.io/part-of": "vibecode",
                **(labels or {}),
                "pod-security.kubernetes.io/enforce": pss,
                "pod-security.kubernetes.io/audit": report,
                "pod-security.kubernetes.io/warn": report,
            },
        },
        opts=opts,
    )


def ingress_spec(host: str, service: str, tls_secret: str) -> dict[str, Any]:
    """One host, all paths to one Service on port 80, TLS from cert-manager (the API's Ingress
    and every workspace's share this shape)."""
    return {
        "ingressClassName": "nginx",
        "tls": [{"hosts": [host], "secretName": tls_secret}],
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": service, "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ],
    }


class Edge(pulumi.ComponentResource):
    issuer_name: str

    def __init__(
        self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vibecode:edge:Edge", name, None, opts)
        self.cfg = cfg
        child = pulumi.ResourceOptions(parent=self)

        # -- ingress-nginx -----------------------------------------------------------------------
        ingress_ns = namespace(INGRESS_NS, child, pss="baseline")  # binds host ports on KIND
        after_ns = pulumi.ResourceOptions(parent=self, depends_on=[ingress_ns])
        controller: dict[str, Any] = {
            "config": {
                "proxy-read-timeout": "3600",
                "proxy-send-timeout": "3600",
                "proxy-body-size": "64m",
                "ssl-redirect": "true",
                "force-ssl-redirect": "true",
                "hsts": "true" if cfg.tls.hsts else "false",
                "hsts-include-subdomains": "true" if cfg.tls.hsts else "false",
                "hsts-max-age": "31536000",
                "use-forwarded-headers": "false",
            },
            "allowSnippetAnnotations": False,
            "metrics": {"enabled": True},
            # Datadog autodiscovery: the nginx check on the metrics port, logs as nginx's.
            "podAnnotations": {
                "ad.datadoghq.com/controller.checks": (
                    '{"nginx_ingress_controller": {"init_config": {}, "instances": '
                    '[{"prometheus_url": "http://%%host%%:10254/metrics"}]}}'
                ),
                "ad.datadoghq.com/controller.logs": (
                    '[{"source": "nginx-ingress-controller", "service": "ingress-nginx"}]'
                ),
            },
            "podLabels": {
                "tags.datadoghq.com/env": cfg.environment,
                "tags.datadoghq.com/service": "ingress-nginx",
                "tags.datadoghq.com/version": charts.INGRESS_NGINX.version,
                "team": "platform",
                "component": "ingress",
            },
            "resources": hardening.resources("100m", "1", "128Mi", "512Mi"),
        }
        if cfg.kind:
            controller.update(
                {
                    "hostPort": {"enabled": True},
                    "kind": "DaemonSet",
                    "nodeSelector": {"ingress-ready": "true"},
                    "tolerations": [
                        {
                            "key": "node-role.kubernetes.io/control-plane",
                            "operator": "Exists",
                            "effect": "NoSchedule",
                        }
                    ],
                    "service": {"type": "NodePort"},
                    "publishService": {"enabled": False},
                }
            )
        else:
            controller.update({"replicaCount": 2, "service": {"type": "LoadBalancer"}})
        self.ingress = helm_release(
            "ingress-nginx", charts.INGRESS_NGINX, INGRESS_NS, {"controller": controller}, after_ns
        )
        network.default_deny("ingress-nginx", INGRESS_NS, after_ns)
        network.policy(
            "ingress-nginx-traffic",
            INGRESS_NS,
            ingress=[{"ports": [{"port": 80}, {"port": 443}, {"port": 8443}, {"port": 10254}]}],
            egress=[network.DNS_EGRESS, network.ANY_EXCEPT_METADATA],
            opts=after_ns,
        )

        # -- cert-manager ------------------------------------------------------------------------
        cert_ns = namespace(CERT_NS, child)
        after_cert_ns = pulumi.ResourceOptions(parent=self, depends_on=[cert_ns])
        self.cert_manager = helm_release(
            "cert-manager",
            charts.CERT_MANAGER,
            CERT_NS,
            {
                "crds": {"enabled": True},
                "resources": hardening.resources("50m", "500m", "64Mi", "256Mi"),
            },
            after_cert_ns,
        )
        network.default_deny("cert-manager", CERT_NS, after_cert_ns)
        network.policy(
            "cert-manager-traffic",
            CERT_NS,
            ingress=[{"ports": [{"port": 10250}, {"port": 9402}]}],
            egress=[network.DNS_EGRESS, network.ANY_EXCEPT_METADATA],
            opts=after_cert_ns,
        )
        issuers = pulumi.ResourceOptions(parent=self, depends_on=[self.cert_manager])
        if cfg.tls.issuer == "acme":
            self.issuer_name = issuer_name(cfg)
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
            self.issuer_name = issuer_name(cfg)
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

        # -- Authelia ------------------------------------------------------------------------------
        auth_ns = namespace(AUTH_NS, child)
        after_auth_ns = pulumi.ResourceOptions(parent=self, depends_on=[auth_ns])
        secrets = {
            name: random.RandomPassword(f"authelia-{name}", length=64, special=False, opts=child)
            for name in ("jwt", "session", "storage")
        }
        secret = k8s.core.v1.Secret(
            "authelia-secrets",
            metadata={"name": "authelia-secrets", "namespace": AUTH_NS},
            string_data={
                "identity_validation.reset_password.jwt.hmac.key": secrets["jwt"].result,
                "session.encryption.key": secrets["session"].result,
                "storage.encryption.key": secrets["storage"].result,
            },
            opts=after_auth_ns,
        )
        self.auth_host = cfg.host("auth")
        protected = [cfg.host("app"), f"*.{cfg.domain}"]
        self.authelia = helm_release(
            "authelia",
            charts.AUTHELIA,
            AUTH_NS,
            {
                "pod": {
                    "kind": "Deployment",
                    "replicas": 1,
                    "resources": hardening.resources("50m", "500m", "64Mi", "256Mi"),
                },
                "secret": {"existingSecret": "authelia-secrets"},
                "ingress": {
                    "enabled": True,
                    "className": "nginx",
                    "tls": {"enabled": True, "secret": "authelia-tls"},
                    "annotations": {"cert-manager.io/cluster-issuer": self.issuer_name},
                },
                "configMap": {
                    "theme": "auto",
                    "session": {"cookies": [{"domain": cfg.domain, "subdomain": "auth"}]},
                    "storage": {"local": {"enabled": True, "path": "/config/db.sqlite3"}},
                    "notifier": {
                        "filesystem": {"enabled": True, "filename": "/config/notification.txt"}
                    },
                    "authentication_backend": {
                        "file": {"enabled": True, "path": "/config/users_database.yml"}
                    },
                    "access_control": {
                        "default_policy": "deny",
                        "rules": [
                            {
                                "domain": [cfg.host("api")],
                                "resources": ["^/api/health.*$"],
                                "policy": "bypass",
                            },
                            {"domain": protected, "policy": "two_factor"},
                        ],
                    },
                },
                "persistence": {"enabled": True, "size": "1Gi"},
            },
            pulumi.ResourceOptions(parent=self, depends_on=[auth_ns, secret]),
        )
        network.default_deny("authelia", AUTH_NS, after_auth_ns)
        network.policy(
            "authelia-from-ingress",
            AUTH_NS,
            ingress=[{"from": [network.ns_selector(INGRESS_NS)], "ports": [{"port": AUTH_PORT}]}],
            egress=[network.DNS_EGRESS],
            opts=after_auth_ns,
        )
        self.register_outputs({"authHost": self.auth_host, "issuer": self.issuer_name})

    def auth_annotations(self) -> dict[str, str]:
        return auth_annotations(self.cfg)

    def tls_annotations(self) -> dict[str, str]:
        return tls_annotations(self.cfg)


def issuer_name(cfg: StackConfig) -> str:
    return "letsencrypt" if cfg.tls.issuer == "acme" else "vibecode-local-ca"


def auth_annotations(cfg: StackConfig) -> dict[str, str]:
    """Forward-auth through Authelia for a protected Ingress (never on Authelia's own). A
    function of config alone, so a workspace stack (`vibe workspaces create`) gets the same."""
    return {
        "nginx.ingress.kubernetes.io/auth-method": "GET",
        "nginx.ingress.kubernetes.io/auth-url": f"http://authelia.{AUTH_NS}.svc.cluster.local/api/authz/auth-request",
        "nginx.ingress.kubernetes.io/auth-signin": f"https://{cfg.host('auth')}?rm=$request_method",
        "nginx.ingress.kubernetes.io/auth-response-headers": "Remote-User,Remote-Name,Remote-Groups,Remote-Email",
    }


def tls_annotations(cfg: StackConfig) -> dict[str, str]:
    return {
        "cert-manager.io/cluster-issuer": issuer_name(cfg),
        "nginx.ingress.kubernetes.io/ssl-redirect": "true",
    }

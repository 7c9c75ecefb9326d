"""The edge: ingress-nginx, cert-manager and Authelia, one component each, and the annotations
every protected Ingress carries.

The proxy secret is made here because two systems share it: ingress-nginx adds it to every
request it proxies, and the API honours identity headers only on requests that carry it.
"""

from __future__ import annotations

import pulumi
import pulumi_random as random
from vibecode_core.proxy_headers import REMOTE_HEADERS

from ..config import StackConfig
from .addresses import AUTHELIA_AUTHZ_URL, workspace_authz_url
from .auth import Authelia
from .certificates import CertManager, issuer_name
from .ingress import IngressNginx


class Edge(pulumi.ComponentResource):
    def __init__(
        self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vibecode:edge:Edge", name, None, opts)
        self.cfg = cfg
        child = pulumi.ResourceOptions(parent=self)
        self.proxy_secret = random.RandomPassword(
            "ingress-proxy-secret", length=48, special=False, opts=child
        )
        self.ingress = IngressNginx("ingress-nginx", cfg, self.proxy_secret.result, child)
        self.certificates = CertManager("cert-manager", cfg, child)
        self.issuer_name = self.certificates.issuer_name
        self.auth = Authelia("authelia", cfg, self.issuer_name, child)
        self.auth_host = self.auth.host
        self.register_outputs({"authHost": self.auth_host, "issuer": self.issuer_name})


def _forward_auth(cfg: StackConfig, url: str) -> dict[str, str]:
    return {
        "nginx.ingress.kubernetes.io/auth-method": "GET",
        "nginx.ingress.kubernetes.io/auth-url": url,
        "nginx.ingress.kubernetes.io/auth-signin": f"https://{cfg.host('auth')}?rm=$request_method",
        "nginx.ingress.kubernetes.io/auth-response-headers": ",".join(REMOTE_HEADERS),
    }


def auth_annotations(cfg: StackConfig) -> dict[str, str]:
    """Forward-auth through Authelia for the API's Ingress (never on Authelia's own)."""
    return _forward_auth(cfg, AUTHELIA_AUTHZ_URL)


def workspace_auth_annotations(cfg: StackConfig, owner_namespace: str) -> dict[str, str]:
    """Forward-auth through the API's owner check: Authelia's sign-in and two factors, and only
    the owner gets through. A function of config and owner alone, so a per-workspace stack gets
    exactly what the platform program gives its configured workspaces."""
    return _forward_auth(cfg, workspace_authz_url(owner_namespace))


def tls_annotations(cfg: StackConfig) -> dict[str, str]:
    return {
        "cert-manager.io/cluster-issuer": issuer_name(cfg),
        "nginx.ingress.kubernetes.io/ssl-redirect": "true",
    }

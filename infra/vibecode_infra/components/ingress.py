"""ingress-nginx: the one way in, with WebSocket-safe timeouts and the proxy secret.

- 3600 s proxy read/send timeouts so code-server's WebSockets survive; HTTP → HTTPS; HSTS in
  prod; snippet annotations off; `use-forwarded-headers` off (clients cannot set the address).
- `controller.proxySetHeaders` puts `X-Vibe-Proxy-Secret` on every proxied request (the chart
  renders it as the `<release>-custom-proxy-headers` ConfigMap and points `proxy-set-headers`
  at it; nginx's `proxy_set_header` replaces whatever the client sent under that name). The
  API honours Remote-* headers only with it, so a pod that can reach the API cannot claim to
  be someone on a CNI that ignores NetworkPolicy.
- KIND: no host ports (Pod Security baseline forbids them); a NodePort Service on fixed ports
  that kind-config.yaml maps to the host's 80 and 443. Elsewhere a LoadBalancer.
"""

from __future__ import annotations

from typing import Any

import pulumi
from vibecode_core.proxy_headers import PROXY_SECRET_HEADER

from .. import hardening
from ..config import StackConfig
from . import charts, network
from .addresses import INGRESS_NS
from .base import helm_release, namespace

KIND_NODE_PORTS = {"http": 30080, "https": 30443}
"""Must match kind-config.yaml's extraPortMappings (a test reads both)."""


def controller_values(cfg: StackConfig, proxy_secret: pulumi.Input[str]) -> dict[str, Any]:
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
        "proxySetHeaders": {PROXY_SECRET_HEADER: proxy_secret},
        "allowSnippetAnnotations": False,
        "hostPort": {"enabled": False},
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
                "replicaCount": 1,
                "service": {"type": "NodePort", "nodePorts": dict(KIND_NODE_PORTS)},
                "publishService": {"enabled": False},
            }
        )
    else:
        controller.update({"replicaCount": 2, "service": {"type": "LoadBalancer"}})
    return {"controller": controller}


class IngressNginx(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        proxy_secret: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("vibecode:edge:IngressNginx", name, None, opts)
        ns = namespace(INGRESS_NS, pulumi.ResourceOptions(parent=self), pss="baseline")
        after_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        self.release = helm_release(
            charts.INGRESS_NGINX, INGRESS_NS, controller_values(cfg, proxy_secret), after_ns
        )
        network.default_deny("ingress-nginx", INGRESS_NS, after_ns)
        network.policy(
            "ingress-nginx-traffic",
            INGRESS_NS,
            # 80/443 from clients, 8443 the admission webhook (API server), 10254 metrics.
            ingress=[{"ports": [{"port": 80}, {"port": 443}, {"port": 8443}, {"port": 10254}]}],
            egress=[network.DNS_EGRESS, network.ANY_EXCEPT_METADATA],
            opts=after_ns,
        )
        self.register_outputs({})

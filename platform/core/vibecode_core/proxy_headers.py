"""The headers the auth proxy and the API agree on, shared by the API (which reads them) and the
Pulumi program (which configures ingress-nginx to send them)."""

REMOTE_HEADERS = ("Remote-User", "Remote-Name", "Remote-Groups", "Remote-Email")
"""Authelia's identity headers, which the ingress copies upstream from its auth answer."""
PROXY_SECRET_HEADER = "X-Vibe-Proxy-Secret"  # noqa: S105 - a header name
"""Added by ingress-nginx to every request it proxies; the API honours identity headers only
with it (`VIBE_PROXY_SECRET`)."""

"""The owner check in front of every workspace: Authelia says who is signed in, we say whose
workspace it is.

A workspace Ingress's `auth-url` is `/api/authz/workspace?owner=<user namespace>` (infra puts
the owner there; users cannot edit Ingresses). ingress-nginx sends its auth subrequest with the
client's headers (its template: `proxy_pass_request_headers on`, plus `X-Original-URL` and
`X-Original-Method`); we relay the ones Authelia's `/api/authz/auth-request` judges by, and:
- Authelia 401 (not signed in) or 403 → the same status, so ingress-nginx sends the browser to
  the sign-in page or refuses;
- Authelia 200 for the owner → 200 with Authelia's `Remote-*` headers (the workspace's ingress
  copies them upstream); for anybody else, admins included → 403.
The comparison is on `user_namespace(user)`, the one naming function, which never maps two users
to one name.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from vibecode_core.proxy_headers import REMOTE_HEADERS
from vibecode_core.tenancy import user_namespace

from . import outbound
from .errors import ApiError
from .settings import Settings

RELAYED = (
    "cookie",
    "authorization",
    "proxy-authorization",
    "x-original-url",
    "x-original-method",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-uri",
    "x-real-ip",
)
"""What Authelia's auth-request endpoint decides on: the session cookie or credentials, and the
original URL and method (and the client address for its regulation)."""
TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Verdict:
    status: int
    headers: dict[str, str]
    detail: str


class WorkspaceAuthz:
    def __init__(self, settings: Settings) -> None:
        self.url = str(settings.authz_url) if settings.authz_url else None
        self._transport = outbound.pooled_transport(max_connections=50) if self.url else None

    async def check(self, owner: str, headers: dict[str, str]) -> Verdict:
        if self.url is None or self._transport is None:
            raise ApiError(
                503,
                "authz_unconfigured",
                "VIBE_AUTHZ_URL is not set: workspace ownership cannot be checked here",
            )
        relayed = {k: v for k, v in headers.items() if k.lower() in RELAYED}
        try:
            response = await outbound.read_response(
                await outbound.open_response(
                    self._transport, "GET", self.url, TIMEOUT_SECONDS, headers=relayed
                )
            )
        except httpx.TransportError as err:
            raise ApiError(
                503, "authz_unavailable", f"the auth server did not answer ({type(err).__name__})"
            ) from None
        if response.status_code in (401, 403):
            return Verdict(response.status_code, {}, "the auth server refused this request")
        if response.status_code != 200:
            raise ApiError(
                503, "authz_unavailable", f"the auth server answered HTTP {response.status_code}"
            )
        user = response.headers.get("remote-user", "")
        if not user:
            raise ApiError(503, "authz_unavailable", "the auth server named no Remote-User")
        if user_namespace(user) != owner:
            return Verdict(403, {}, "this workspace belongs to another user")
        found = {h: response.headers[h] for h in REMOTE_HEADERS if h in response.headers}
        return Verdict(200, found, "owner")

    async def aclose(self) -> None:
        if self._transport is not None:
            await self._transport.aclose()

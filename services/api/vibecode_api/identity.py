"""Who is calling: the auth proxy's headers, honoured only from trusted peers (API.md).

Authelia (through the ingress) sets `Remote-User`, `Remote-Groups`, `Remote-Email`, `Remote-Name`.
They count only when the TCP peer is inside `VIBE_TRUSTED_PROXIES`; anything else is 401. With
`VIBE_DEV_USER` set, a trusted peer that sends no proxy headers acts as that user (local dev).

A CIDR alone trusts every pod of a pod network, and only a NetworkPolicy (which some CNIs do not
enforce) would stop a workspace pod from sending `Remote-User: admin`. With `VIBE_PROXY_SECRET`
set, a trusted peer must also present that secret in `X-Vibe-Proxy-Secret`, which ingress-nginx
adds to every request it proxies (overwriting whatever the client sent); it is compared in
constant time. Loopback peers are exempt: only a container of the API's own pod, or
`kubectl port-forward` (RBAC-gated, `vibe deploy`'s smoke tests), can connect from there.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from vibecode_core.proxy_headers import PROXY_SECRET_HEADER, REMOTE_HEADERS
from vibecode_core.tenancy import Tier, TierName, tier, user_namespace

from .errors import ApiError
from .settings import Network, Settings
from .views import MeView

_HEADERS = {h.lower().encode() for h in REMOTE_HEADERS}
_SECRET_KEY = PROXY_SECRET_HEADER.lower().encode()


@dataclass(frozen=True)
class Identity:
    user: str
    groups: tuple[str, ...] = ()
    email: str = ""
    name: str = ""
    tier_name: TierName = TierName.free
    is_admin: bool = False
    token_id: str = ""
    """the bearer token this request came with ("" through the auth proxy)"""
    workspace_scope: str | None = None
    """a workspace token's one workspace: every other is not found"""

    def with_token(self, token_id: str, workspace_id: str | None) -> Identity:
        return replace(self, token_id=token_id, workspace_scope=workspace_id)

    @cached_property
    def tier(self) -> Tier:
        return tier(self.tier_name)

    @cached_property
    def namespace(self) -> str:
        return user_namespace(self.user)

    def public(self) -> MeView:
        return {
            "user": self.user,
            "email": self.email,
            "name": self.name,
            "groups": list(self.groups),
            "tier": self.tier_name.value,
            "admin": self.is_admin,
            "namespace": self.namespace,
        }


def unauthenticated(detail: str) -> ApiError:
    return ApiError(401, "unauthenticated", detail)


class IdentityResolver:
    """Turns a request's peer and headers into an `Identity`, or raises 401."""

    def __init__(self, settings: Settings) -> None:
        self.trusted: list[Network] = list(settings.trusted_proxies)
        self.dev_user = settings.dev_user
        self.premium = set(settings.premium_groups)
        self.admins = set(settings.admin_groups)
        self._peer_cache: dict[str, bool] = {}
        secret = settings.proxy_secret
        self.proxy_secret = secret.get_secret_value().encode() if secret else None

    def is_trusted(self, host: str | None) -> bool:
        if not host:
            return False
        known = self._peer_cache.get(host)
        if known is None:
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                known = False
            else:
                known = any(address in network for network in self.trusted)
            if len(self._peer_cache) < 4096:
                self._peer_cache[host] = known
        return known

    def resolve(self, scope: dict[str, Any], *, dev_user: bool = True) -> Identity:
        """The proxy's identity (or, with `dev_user` and no proxy headers, VIBE_DEV_USER's)."""
        client = scope.get("client")
        peer = client[0] if client else None
        found: dict[bytes, str] = {}
        presented = b""
        for key, value in scope["headers"]:
            if key in _HEADERS:
                found[key] = value.decode("utf-8", "replace").strip()
            elif key == _SECRET_KEY:
                presented = value
        if not self.is_trusted(peer):
            raise unauthenticated(
                "no identity: requests must come through the auth proxy "
                "(this peer is not in VIBE_TRUSTED_PROXIES)"
            )
        if (
            self.proxy_secret is not None
            and not hmac.compare_digest(presented, self.proxy_secret)
            and not _is_loopback(peer)
        ):
            raise unauthenticated(
                "no identity: requests must come through the auth proxy "
                f"(the {PROXY_SECRET_HEADER} header is missing or wrong)"
            )
        user = found.get(b"remote-user", "")
        if not user:
            if found or not self.dev_user or not dev_user:
                raise unauthenticated("no identity: the auth proxy sent no Remote-User header")
            return self.identity(self.dev_user, (), "", self.dev_user)
        if len(user) > 256:
            raise ApiError(400, "invalid_input", "Remote-User is longer than 256 characters")
        groups = tuple(g.strip() for g in found.get(b"remote-groups", "").split(",") if g.strip())
        return self.identity(
            user, groups, found.get(b"remote-email", ""), found.get(b"remote-name", "")
        )

    def identity(self, user: str, groups: tuple[str, ...], email: str, name: str) -> Identity:
        """A user with the tier and admin rights their groups give."""
        premium = any(g in self.premium for g in groups)
        return Identity(
            user=user,
            groups=groups,
            email=email,
            name=name,
            tier_name=TierName.premium if premium else TierName.free,
            is_admin=any(g in self.admins for g in groups),
        )


def _is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

"""Bearer tokens (shared/API.md "Tokens"): for the VS Code assistant, the `vibe` CLI and scripts,
which run in a workspace pod or on a laptop, not behind the auth proxy.

A token is `vibe_` and 43 URL-safe characters (256 random bits), shown once. The database keeps
its SHA-256: a secret this strong needs no slow hash, and a lookup by hash compares nothing
secret byte by byte in our code (the index finds the row or not). Every request with a token is
judged in the database, in the one statement that also stamps `last_used_at` (at most once a
minute), so a revocation or an expiry holds on the very next request on every replica: there is
no cache to outlive it. The token acts as its user with the tier and groups last seen through the
auth proxy (`users`, written when they change); a workspace token reaches only its workspace.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

import psycopg
from psycopg.rows import dict_row

from . import workspaces
from .audit import Audit
from .context import RequestContext
from .db import Database
from .errors import ApiError
from .identity import Identity, IdentityResolver, unauthenticated
from .logs import get_logger
from .views import CreatedTokenView, TokenView

log = get_logger(__name__)

PREFIX = "vibe_"
ACCOUNT_ONLY = "account_only"
"""A handler `opt` key: refused (403 `token_scope`) to a workspace token (admission checks)."""
LAST_USED_EVERY = "1 minute"

_LIVE = "revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())"
"""What makes a token count: neither revoked nor expired."""
_AUTHENTICATE = f"""
WITH token AS (
    SELECT id, user_id, workspace_id FROM api_tokens WHERE secret_sha256 = %s AND {_LIVE}
), touched AS (
    UPDATE api_tokens SET last_used_at = now()
    WHERE id = (SELECT id FROM token)
      AND (last_used_at IS NULL OR last_used_at < now() - interval '{LAST_USED_EVERY}')
)
SELECT token.id, token.user_id, token.workspace_id, u.groups, u.email, u.name
FROM token LEFT JOIN users u ON u.user_id = token.user_id
"""


def digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def bearer(scope: dict[str, Any]) -> str | None:
    """The request's `Authorization: Bearer` token, if it sent one."""
    for key, value in scope["headers"]:
        if key == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


def token_scope_refusal() -> ApiError:
    return ApiError(
        403,
        "token_scope",
        "a workspace token reaches its own workspace only: it cannot create or delete "
        "workspaces nor manage tokens; use an account token or the console",
    )


def _view(row: dict[str, Any]) -> TokenView:
    def iso(value: dt.datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": row["id"],
        "name": row["name"],
        "workspaceId": row["workspace_id"],
        "createdAt": row["created_at"].isoformat(),
        "expiresAt": iso(row["expires_at"]),
        "lastUsedAt": iso(row["last_used_at"]),
    }


class Tokens:
    def __init__(self, db: Database, audit: Audit, resolver: IdentityResolver) -> None:
        self.db = db
        self.audit = audit
        self.resolver = resolver
        self._seen: dict[str, tuple[tuple[str, ...], str, str]] = {}
        """What this process last wrote to `users`, per user: writes only when it changes."""

    async def authenticate(self, secret: str) -> Identity:
        """The token's identity, or 401: unknown, revoked and expired look the same."""
        row = None
        if secret.startswith(PREFIX):
            async with self.db.connection() as conn:
                cur = await conn.execute(_AUTHENTICATE, (digest(secret),))
                row = await cur.fetchone()
        if row is None:
            raise unauthenticated("the bearer token is unknown, expired or revoked")
        groups = tuple(row["groups"] or ())
        identity = self.resolver.identity(
            row["user_id"], groups, row["email"] or "", row["name"] or ""
        )
        return identity.with_token(row["id"], row["workspace_id"])

    async def remember(self, identity: Identity) -> None:
        """Keep the proxy's view of a user (groups decide the tier a token acts with)."""
        seen = (identity.groups, identity.email, identity.name)
        if identity.token_id or self._seen.get(identity.user) == seen:
            return
        try:
            async with self.db.connection() as conn:
                await conn.execute(
                    "INSERT INTO users (user_id, groups, email, name) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (user_id) DO UPDATE SET groups = EXCLUDED.groups,"
                    " email = EXCLUDED.email, name = EXCLUDED.name, seen_at = now()",
                    (identity.user, list(identity.groups), identity.email, identity.name),
                )
        except (psycopg.Error, ApiError) as err:  # the request goes on; the next one retries
            log.warning("user_not_remembered", error=type(err).__name__)
            return
        if len(self._seen) >= 10_000:
            self._seen.clear()
        self._seen[identity.user] = seen

    async def create(
        self,
        ctx: RequestContext,
        identity: Identity,
        name: str,
        workspace_id: str | None,
        expires_in_days: int | None,
    ) -> CreatedTokenView:
        secret = PREFIX + secrets.token_urlsafe(32)
        token_id = "tok_" + secrets.token_hex(8)
        async with self.db.connection() as conn, conn.transaction():
            if workspace_id is not None:
                await workspaces.owned(conn, identity, workspace_id)
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                "INSERT INTO api_tokens (id, user_id, name, workspace_id, secret_sha256,"
                " expires_at) VALUES (%s, %s, %s, %s, %s,"
                " CASE WHEN %s::int IS NULL THEN NULL ELSE now() + make_interval(days => %s) END)"
                " RETURNING *",
                (
                    token_id,
                    identity.user,
                    name,
                    workspace_id,
                    digest(secret),
                    expires_in_days,
                    expires_in_days,
                ),
            )
            row = await cur.fetchone()
            assert row is not None
            await self.audit.record(
                conn,
                ctx,
                "success",
                target=token_id,
                detail={"name": name, "workspaceId": workspace_id},
            )
        view = _view(row)
        return {
            "id": view["id"],
            "name": view["name"],
            "token": secret,
            "workspaceId": view["workspaceId"],
            "createdAt": view["createdAt"],
            "expiresAt": view["expiresAt"],
        }

    async def listing(self, identity: Identity) -> list[TokenView]:
        async with self.db.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(
                f"SELECT * FROM api_tokens WHERE user_id = %s AND {_LIVE} ORDER BY created_at, id",
                (identity.user,),
            )
            return [_view(r) for r in await cur.fetchall()]

    async def revoke(self, ctx: RequestContext, identity: Identity, token_id: str) -> None:
        """Revoke one of the caller's tokens (404 for anyone else's, as for workspaces)."""
        async with self.db.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "UPDATE api_tokens SET revoked_at = now()"
                " WHERE id = %s AND user_id = %s AND revoked_at IS NULL RETURNING id",
                (token_id, identity.user),
            )
            if await cur.fetchone() is None:
                raise ApiError(404, "not_found", f"token {token_id!r} does not exist")
            await self.audit.record(conn, ctx, "success", target=token_id)

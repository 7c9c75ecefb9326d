"""The caller's own view: who they are (`/api/me`), quota usage, and audit events."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import Parameter

from ..clock import Clock
from ..db import Database
from ..identity import Identity
from ..quotas import Quotas
from ..views import AuditEventView, MeView, UsageView


@get(
    "/api/me",
    tags=["account"],
    summary="Who you are, your tier and your namespace",
    operation_id="readMe",
)
async def me(identity: NamedDependency[Identity]) -> MeView:
    return identity.public()


@get(
    "/api/usage",
    tags=["account"],
    summary="Every quota: limit, used, remaining (resetAt hourly)",
    operation_id="readUsage",
)
async def usage(
    db: NamedDependency[Database],
    quotas: NamedDependency[Quotas],
    clock: NamedDependency[Clock],
    identity: NamedDependency[Identity],
) -> UsageView:
    async with db.connection() as conn:
        usage = await quotas.usage(conn, identity, clock.time())
    return {"user": identity.user, "tier": identity.tier_name.value, "quotas": usage}


@get(
    "/api/audit",
    tags=["account"],
    summary="Your audit events, newest first (admins: all)",
    operation_id="listAuditEvents",
)
async def audit_events(
    db: NamedDependency[Database],
    identity: NamedDependency[Identity],
    limit: Annotated[int, Parameter(ge=1, le=1000, description="1-1000")] = 100,
) -> list[AuditEventView]:
    where, params = ("", []) if identity.is_admin else ("WHERE actor = %s", [identity.user])
    async with db.connection() as conn:
        rows = await (
            await conn.execute(
                f"SELECT id, at, actor, action, target, outcome, request_id, detail, token_id"
                f" FROM audit_events {where} ORDER BY id DESC LIMIT %s",
                [*params, limit],
            )
        ).fetchall()
    return [
        {
            "id": r["id"],
            "at": r["at"].isoformat(),
            "actor": r["actor"],
            "action": r["action"],
            "target": r["target"],
            "outcome": r["outcome"],
            "requestId": r["request_id"],
            "tokenId": r["token_id"],
            "detail": r["detail"],
        }
        for r in rows
    ]


handlers = [me, usage, audit_events]

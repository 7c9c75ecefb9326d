"""The audit log: one writer that every write path uses.

A write route declares its action once, with `opt={"audit": "<action>"}`; it reaches the domain
as `RequestContext.action`, which `Audit.record` writes unless told another (a refusal, or a
side effect such as the session a workspace's deletion stops). Rows are written inside the
caller's transaction, so an audited write and its audit row land together.
`VIBE_AUDIT=false` turns recording off.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from .context import RequestContext
from .db import Database
from .errors import ApiError
from .logs import get_logger

log = get_logger(__name__)


class Audit:
    def __init__(self, db: Database, enabled: bool) -> None:
        self.db = db
        self.enabled = enabled

    async def record(
        self,
        conn: psycopg.AsyncConnection[Any],
        ctx: RequestContext,
        outcome: str,
        *,
        action: str | None = None,
        target: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record inside the caller's transaction: the write and its audit row land together."""
        if not self.enabled:
            return
        await conn.execute(
            "INSERT INTO audit_events (actor, action, target, outcome, request_id, detail,"
            " token_id) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                ctx.actor,
                action or ctx.action,
                target,
                outcome,
                ctx.request_id,
                Jsonb(detail or {}),
                ctx.token_id,
            ),
        )

    async def record_alone(
        self,
        ctx: RequestContext,
        outcome: str,
        *,
        action: str | None = None,
        target: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record on its own connection: for refusals, where no write transaction exists."""
        if not self.enabled:
            return
        try:
            async with self.db.connection() as conn:
                await self.record(conn, ctx, outcome, action=action, target=target, detail=detail)
        except ApiError:
            # The refusal itself must still reach the client when the database is down.
            log.warning("audit_unrecorded", action=action or ctx.action, outcome=outcome)

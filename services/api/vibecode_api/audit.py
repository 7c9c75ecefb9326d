"""The audit log and the dry-run switch: one writer that every write endpoint uses.

A write handler declares itself with `opt={"audit": "<action>"}`. The gate then refuses it
(`refuse_in_dry_run`) while `VIBE_DRY_RUN` is on (error `dry_run`, the attempt recorded), and
handlers call `Audit.record` inside their own transaction, so an audited write and its audit row
land together.
`VIBE_AUDIT=false` turns recording off.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from .errors import ApiError
from .logs import get_logger

log = get_logger(__name__)

DRY_RUN_STATUS = 403


def actor_of(scope: Any) -> str:
    identity = scope.get("state", {}).get("identity")
    return getattr(identity, "user", None) or "anonymous"


def request_id_of(scope: Any) -> str:
    return str(scope.get("state", {}).get("request_id", ""))


class Audit:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    async def record(
        self,
        conn: psycopg.AsyncConnection[Any],
        scope: Any,
        action: str,
        outcome: str,
        *,
        target: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record inside the caller's transaction: the write and its audit row land together."""
        if not self.enabled:
            return
        await conn.execute(
            "INSERT INTO audit_events (actor, action, target, outcome, request_id, detail)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (actor_of(scope), action, target, outcome, request_id_of(scope), Jsonb(detail or {})),
        )

    async def record_scope(
        self,
        scope: Any,
        action: str,
        outcome: str,
        *,
        target: str = "",
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Record on its own connection: for refusals, where no write transaction exists."""
        if not self.enabled:
            return
        db = scope["app"].state.db
        try:
            async with db.connection() as conn:
                await self.record(conn, scope, action, outcome, target=target, detail=detail)
        except ApiError:
            # The refusal itself must still reach the client when the database is down.
            log.warning("audit_unrecorded", action=action, outcome=outcome)


async def refuse_in_dry_run(scope: Any) -> None:
    """For the gate: a declared write (`opt={"audit": …}`) is refused while `VIBE_DRY_RUN` is on.

    In the gate rather than a Litestar guard: guards cost a copy of the route handler on every
    request, reads included (`make bench`)."""
    action = scope["route_handler"].opt.get("audit")
    state = scope["app"].state
    if not action or not state.settings.dry_run:
        return
    await state.audit.record_scope(scope, action, "blocked_dry_run", target=scope["path"])
    raise ApiError(
        DRY_RUN_STATUS,
        "dry_run",
        f"{action} was not performed: VIBE_DRY_RUN=true blocks every write; "
        "unset it to allow writes",
    )

"""The one quota mechanism every write path calls.

`Quotas.require(conn, identity, {quota: amount})` runs inside the caller's transaction. It
first takes a per-user transaction-scoped advisory lock, so concurrent writes of one user — from
any number of API processes on the same database — are checked one after another against what is
committed (within a process they already wait their turn before taking a connection); then it measures usage and refuses the whole write (`403 quota_exceeded` with `quota`,
`limit`, `used`). Write paths open their transaction with `Quotas.transaction`, which audits a
refusal once the refused transaction has rolled back and its connection is back in the pool (a
second connection taken while holding the user's lock could starve the pool). Usage is always
measured live from the tables, never from a cache.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from vibecode_core import metric_names as names

from . import telemetry
from .audit import Audit
from .context import RequestContext
from .db import Database
from .errors import ApiError
from .identity import Identity
from .provisioners import SessionState

ACTIVE_SESSION_STATES = (SessionState.loading, SessionState.starting, SessionState.ready)
WINDOW_SECONDS = 3600
"""The hourly API-call limit's window (the gate counts in it, usage reports it)."""


def window_of(now: float) -> tuple[dt.datetime, dt.datetime]:
    """The fixed hourly window containing `now`, as (start, reset)."""
    start = math.floor(now / WINDOW_SECONDS) * WINDOW_SECONDS
    begin = dt.datetime.fromtimestamp(start, dt.UTC)
    return begin, begin + dt.timedelta(seconds=WINDOW_SECONDS)


_UNITS = {"fileSize": "bytes", "storageBytes": "bytes"}


class QuotaExceeded(ApiError):
    def __init__(self, quota: str, limit: int, used: int, tier: str) -> None:
        # Counted where it is decided: every refusal, whichever route made it.
        telemetry.count(names.QUOTA_REFUSALS, tags=(f"quota:{quota}", f"tier:{tier}"))
        unit = f" {_UNITS[quota]}" if quota in _UNITS else ""
        status = 413 if quota == "fileSize" else 403
        code = "file_too_large" if quota == "fileSize" else "quota_exceeded"
        super().__init__(
            status,
            code,
            f"{quota} quota exceeded: the {tier} tier allows {limit}{unit}, "
            f"this request needs {used}{unit}",
            quota=quota,
            limit=limit,
            used=used,
        )


async def lock_user(conn: psycopg.AsyncConnection[Any], user: str) -> None:
    """Serialise this user's quota-bound writes until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 7163))", (user,))


async def measure(
    conn: psycopg.AsyncConnection[Any], user: str, workspace: str | None = None, *, lock: bool
) -> dict[str, int]:
    """Every counted quota's usage; with `lock`, first take the user's lock (one round trip)."""
    row = await (
        await conn.execute("SELECT vibe_usage(%s, %s, %s) AS u", (user, workspace, lock))
    ).fetchone()
    assert row is not None
    return {k: int(v) for k, v in row["u"].items()}


class Quotas:
    def __init__(self, db: Database, audit: Audit) -> None:
        self.db = db
        self.audit = audit
        # One user's quota-bound writes in this process, one at a time before they take a
        # pooled connection: they would queue on the user's advisory lock anyway, each holding a
        # connection, and a burst from one user would starve the pool for everyone.
        self._turns: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _turn(self, user: str) -> asyncio.Lock:
        lock = self._turns.get(user)
        if lock is None:
            lock = self._turns[user] = asyncio.Lock()
        return lock

    async def require(
        self,
        conn: psycopg.AsyncConnection[Any],
        identity: Identity,
        needs: dict[str, int],
        *,
        workspace: str | None = None,
    ) -> None:
        """Refuse the write unless every quota has room for `needs` (amounts it adds)."""
        limits = identity.tier.quotas()
        if "fileSize" in needs and needs["fileSize"] > limits["fileSize"]:
            raise QuotaExceeded(
                "fileSize", limits["fileSize"], needs["fileSize"], identity.tier_name
            )
        usage = await measure(conn, identity.user, workspace, lock=True)
        for quota, amount in needs.items():
            if quota == "fileSize" or amount <= 0:
                continue
            current = usage[quota]
            if current + amount > limits[quota]:
                raise QuotaExceeded(quota, limits[quota], current + amount, identity.tier_name)

    @asynccontextmanager
    async def transaction(self, ctx: RequestContext) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A write transaction whose quota refusal is audited after it has rolled back."""
        try:
            async with self._turn(ctx.actor), self.db.connection() as conn, conn.transaction():
                yield conn
        except QuotaExceeded as err:
            await self.audit.record_alone(
                ctx,
                "refused_quota",
                action="quota.check",
                target=err.extra["quota"],
                detail={"limit": err.extra["limit"], "used": err.extra["used"]},
            )
            raise

    async def usage(
        self, conn: psycopg.AsyncConnection[Any], identity: Identity, now: float
    ) -> dict[str, Any]:
        """Every quota with limit, used and remaining (and resetAt for the hourly one)."""
        limits = identity.tier.quotas()
        user = identity.user
        out: dict[str, Any] = {}
        usage = await measure(conn, user, lock=False)
        for quota in ("workspaces", "storageBytes", "vectorChunks", "concurrentSessions"):
            out[quota] = _entry(limits[quota], usage[quota])
        per_ws = await (
            await conn.execute(
                "SELECT w.id, count(f.id) AS n, coalesce(max(f.bytes), 0) AS largest"
                " FROM workspaces w LEFT JOIN files f ON f.workspace_id = w.id"
                " WHERE w.user_id = %s GROUP BY w.id",
                (user,),
            )
        ).fetchall()
        busiest = max((r["n"] for r in per_ws), default=0)
        out["filesPerWorkspace"] = {
            **_entry(limits["filesPerWorkspace"], busiest),
            "workspaces": {r["id"]: r["n"] for r in per_ws},
        }
        largest = max((r["largest"] for r in per_ws), default=0)
        out["fileSize"] = {**_entry(limits["fileSize"], largest), "unit": "bytes"}
        out["storageBytes"]["unit"] = "bytes"
        begin, reset = window_of(now)
        row = await (
            await conn.execute(
                "SELECT count FROM api_calls WHERE user_id = %s AND window_start = %s",
                (user, begin),
            )
        ).fetchone()
        out["apiCallsPerHour"] = {
            **_entry(limits["apiCallsPerHour"], row["count"] if row else 0),
            "resetAt": reset.isoformat(),
        }
        return out


def _entry(limit: int, n: int) -> dict[str, int]:
    return {"limit": limit, "used": n, "remaining": max(0, limit - n)}

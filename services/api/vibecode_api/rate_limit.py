"""The hourly API-call limit: a fixed window kept in PostgreSQL, counted with one atomic upsert
that refuses to count past the limit, so it holds across any number of API processes sharing the
database. Handlers whose slow first step only reads or relays wait for the verdict alongside that
step (`alongside_verdict`) instead of before it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import psycopg
from vibecode_core import metric_names as names

from . import tasks, telemetry
from .audit import Audit
from .context import RequestContext
from .db import Database
from .dry_run import refuse_in_dry_run
from .errors import ApiError, DatabaseUnavailable
from .identity import Identity
from .quotas import window_of

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
T = TypeVar("T")
OVERLAP = {"overlaps_verdict": True}
"""A handler's `opt` when it waits for the verdict itself, alongside its first step
(`alongside_verdict`)."""
OVERLAP_MIN_REMAINING = 2
"""Calls the user must have had left, when this process last counted one, for a bet."""
LAST_SEEN_MAX = 100_000
"""Users whose last count a process remembers (`calls_left`); past it, it starts afresh."""

_COUNT_CALL = """
INSERT INTO api_calls (user_id, window_start, count) VALUES (%s, %s, 1)
ON CONFLICT (user_id, window_start) DO UPDATE SET count = api_calls.count + 1
WHERE api_calls.count < %s
RETURNING count
"""


class RateLimitCheck:
    """One API call's verdict under its user's hourly limit: one atomic upsert, so the limit is
    exact across any number of API processes, and no response starts before it is known.

    Most handlers get the verdict before they run: the gate waits for it. Handlers whose slow
    first step changes nothing — an upstream provider call, a search's query embedding —
    overlap the two (`opt=OVERLAP`, `alongside_verdict`): the step starts first, the verdict is
    awaited beside it, and a refusal cancels it. The count's round trip then hides in that
    step's time instead of adding to ours: on a connection idle between calls that round trip
    alone is most of the gateway's overhead budget (docs/benchmarks.md). They
    only bet when this process last saw the user well inside the limit, so a user who is out
    of calls does not make us call a provider or the embedder: a refused bet costs one
    cancelled step, never a 2xx.
    """

    __slots__ = (
        "_done",
        "audit",
        "begin",
        "calls_left",
        "ctx",
        "db",
        "headers",
        "identity",
        "limit",
        "method",
        "now",
        "reset",
    )

    def __init__(
        self,
        ctx: RequestContext,
        method: str,
        identity: Identity,
        now: float,
        db: Database,
        audit: Audit,
        calls_left: dict[str, tuple[dt.datetime, int]],
    ) -> None:
        self.ctx, self.method, self.identity, self.now = ctx, method, identity, now
        self.db, self.audit, self.calls_left = db, audit, calls_left
        self.limit = identity.tier.max_api_calls_per_hour
        self.begin, self.reset = window_of(now)
        self.headers: list[tuple[bytes, bytes]] = []
        self._done: ApiError | bool = False

    @property
    def likely_allowed(self) -> bool:
        """Whether this process last saw the user with calls to spare in this window."""
        seen = self.calls_left.get(self.identity.user)
        return seen is not None and seen[0] == self.begin and seen[1] >= OVERLAP_MIN_REMAINING

    async def _upsert(self) -> int | None:
        try:
            async with self.db.connection() as conn:
                cursor = await conn.execute(
                    _COUNT_CALL, (self.identity.user, self.begin, self.limit)
                )
                row = await cursor.fetchone()
        except psycopg.OperationalError as err:  # an ApiError, so a relay's answer can carry it
            raise DatabaseUnavailable() from err
        count: int | None = row["count"] if row else None
        seen = self.calls_left
        if len(seen) >= LAST_SEEN_MAX:
            seen.clear()
        seen[self.identity.user] = (self.begin, 0 if count is None else self.limit - count)
        return count

    async def verdict(self) -> None:
        """Return once the call is admitted; raise its 429 (or dry-run 403) otherwise."""
        if self._done is True:
            return
        if isinstance(self._done, ApiError):
            raise self._done
        try:
            await self._judge()
        except ApiError as refusal:
            self._done = refusal
            raise
        self._done = True

    async def _judge(self) -> None:
        count = await self._upsert()
        limit, reset = self.limit, self.reset
        reset_in = max(1, math.ceil(reset.timestamp() - self.now))
        used = limit if count is None else count
        self.headers = [
            (b"ratelimit-limit", str(limit).encode()),
            (b"ratelimit-remaining", str(max(0, limit - used)).encode()),
            (b"ratelimit-reset", str(reset_in).encode()),
        ]
        if count is None:
            tier = self.identity.tier_name.value
            telemetry.count(names.RATE_LIMIT_REFUSALS, tags=(f"tier:{tier}",))
            if self.method not in _SAFE_METHODS:
                await self.audit.record_alone(
                    self.ctx, "refused_rate_limit", action="api.call", target=self.ctx.target
                )
            raise ApiError(
                429,
                "rate_limited",
                f"{limit} API calls per hour for the {tier} tier are used up; "
                f"the window resets at {reset.isoformat()}",
                headers={
                    "Retry-After": str(reset_in),
                    "RateLimit-Limit": str(limit),
                    "RateLimit-Remaining": "0",
                    "RateLimit-Reset": str(reset_in),
                },
                quota="apiCallsPerHour",
                limit=limit,
                used=used,
                resetAt=reset.isoformat(),
            )
        await refuse_in_dry_run(self.ctx, self.audit)


async def alongside_verdict(
    scope: Mapping[str, Any],
    step: Callable[[], Awaitable[T]],
    discard: Callable[[T], Awaitable[None]] | None = None,
) -> T:
    """`step` and the caller's hourly-limit verdict side by side, for a handler with
    `opt=OVERLAP`: the step starts first; a refusal cancels it, or `discard`s what it already
    produced (an opened stream), and is raised. The step must change nothing a refused call may
    not: it may still have run in part."""
    admission: RateLimitCheck = scope["state"]["admission"]
    if not admission.likely_allowed:
        await admission.verdict()
        return await step()
    # The verdict gets a task of its own and the step runs in ours: under load every extra turn
    # of the event loop waits behind other requests' work, and the step's start and result
    # would each need one (docs/benchmarks.md, gateway overhead at concurrency 64).
    handler = asyncio.current_task()
    assert handler is not None
    verdict = tasks.started(admission.verdict())
    stepping, refused = True, False

    def refuse(decided: asyncio.Task[None]) -> None:
        nonlocal refused
        if stepping and not decided.cancelled() and decided.exception() is not None:
            refused = True
            handler.cancel()

    verdict.add_done_callback(refuse)
    try:
        result = await step()
    except asyncio.CancelledError:
        stepping = False
        if refused and handler.uncancel() == 0:  # our own cancel, nobody else's
            raise verdict.exception() from None  # type: ignore[misc]
        raise  # cancelled from outside: the call still counts
    except BaseException:
        stepping = False
        await verdict  # a refusal outranks the step's own failure
        raise
    stepping = False
    try:
        await verdict
    except BaseException:
        if discard is not None:
            await discard(result)
        raise
    return result

"""The gate every API call passes once, in order: identity → hourly rate limit → dry run.

Quota checks follow in the write paths themselves (`quotas.py`), then the handler, then audit.
Health, monitoring and Prometheus are outside the gate: they need no identity and do not count.
The web console's pages (`/`, `/console/*`) need an identity but do not count; static assets
need neither.
The hourly limit is a fixed window kept in PostgreSQL with one atomic upsert that refuses to count
past the limit, so it holds across any number of API processes sharing the database; handlers
whose slow first step reads or relays only wait for it alongside that step (`Admission`).
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
from .audit import refuse_in_dry_run
from .errors import ApiError, DatabaseUnavailable, send_error
from .identity import Identity, IdentityResolver
from .quotas import window_of

_OPEN_PREFIXES = ("/api/health", "/api/monitoring", "/api/authz/")
_GATED_PREFIXES = ("/api/", "/v1/")
_CONSOLE_PREFIX = "/console/"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
OVERLAP = {"overlaps_verdict": True}
"""A handler's `opt` when it waits for the verdict itself, alongside its first step
(`alongside_verdict`)."""
OVERLAP_MIN_REMAINING = 2
"""Calls the user must have had left, when this process last counted one, for a bet."""
LAST_SEEN_MAX = 100_000
"""Users whose last count a process remembers (`state.calls_left`); past it, it starts afresh."""
T = TypeVar("T")

_COUNT_CALL = """
INSERT INTO api_calls (user_id, window_start, count) VALUES (%s, %s, 1)
ON CONFLICT (user_id, window_start) DO UPDATE SET count = api_calls.count + 1
WHERE api_calls.count < %s
RETURNING count
"""


def is_gated(path: str) -> bool:
    return path.startswith(_GATED_PREFIXES) and not path.startswith(_OPEN_PREFIXES)


def is_console(path: str) -> bool:
    """The web console's pages and fragments: they need an identity but are not API calls
    (what they change goes through `/api/*`, which counts), so they do not use up the limit."""
    return path == "/" or path.startswith(_CONSOLE_PREFIX)


class Admission:
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
        "begin",
        "headers",
        "identity",
        "limit",
        "now",
        "reset",
        "scope",
    )

    def __init__(self, scope: dict[str, Any], identity: Identity, now: float) -> None:
        self.scope, self.identity, self.now = scope, identity, now
        self.limit = identity.tier.max_api_calls_per_hour
        self.begin, self.reset = window_of(now)
        self.headers: list[tuple[bytes, bytes]] = []
        self._done: ApiError | bool = False

    @property
    def likely_allowed(self) -> bool:
        """Whether this process last saw the user with calls to spare in this window."""
        seen = self.scope["app"].state.calls_left.get(self.identity.user)
        return seen is not None and seen[0] == self.begin and seen[1] >= OVERLAP_MIN_REMAINING

    async def _upsert(self, db: Any) -> int | None:
        try:
            async with db.connection() as conn:
                cursor = await conn.execute(
                    _COUNT_CALL, (self.identity.user, self.begin, self.limit)
                )
                row = await cursor.fetchone()
        except psycopg.OperationalError as err:  # an ApiError, so a relay's answer can carry it
            raise DatabaseUnavailable() from err
        count: int | None = row["count"] if row else None
        seen: dict[str, tuple[dt.datetime, int]] = self.scope["app"].state.calls_left
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
        count = await self._upsert(self.scope["app"].state.db)
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
            if self.scope["method"] not in _SAFE_METHODS:
                await self.scope["app"].state.audit.record_scope(
                    self.scope, "api.call", "refused_rate_limit", target=self.scope["path"]
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
        await refuse_in_dry_run(self.scope)


class GateMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        console = is_console(path)
        if not console and not is_gated(path):
            if path:
                await refuse_in_dry_run(scope)
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        resolver: IdentityResolver = state.identity
        identity = resolver.resolve(scope)
        scope["state"]["identity"] = identity
        if console:  # an identity, but not an API call: the hourly limit does not apply
            await self.app(scope, receive, send)
            return
        admission = Admission(scope, identity, state.clock.time())
        if scope["route_handler"].opt.get("overlaps_verdict"):
            scope["state"]["admission"] = admission  # the handler waits for it (see Admission)
        else:
            await admission.verdict()

        refused: list[ApiError] = []

        async def send_after_verdict(message: dict[str, Any]) -> None:
            if refused:  # the rest of an answer that the refusal replaced
                return
            if message["type"] == "http.response.start":
                # Decided already, except for an overlapping handler's answer that needed no
                # slow step (offline, a malformed body): no response starts before the verdict,
                # and a refusal replaces whatever the handler said.
                try:
                    await admission.verdict()
                except ApiError as refusal:
                    refused.append(refusal)
                    await send_error(send, refusal)
                    return
                message["headers"] = [*message.get("headers", ()), *admission.headers]
            await send(message)

        try:
            await self.app(scope, receive, send_after_verdict)
        finally:
            # The admission refers to the scope that refers to it: without this, every such
            # request's scope would wait for the cycle collector instead of being freed at once.
            scope["state"].pop("admission", None)


async def alongside_verdict(
    scope: Mapping[str, Any],
    step: Callable[[], Awaitable[T]],
    discard: Callable[[T], Awaitable[None]] | None = None,
) -> T:
    """`step` and the caller's hourly-limit verdict side by side, for a handler with
    `opt=OVERLAP`: the step starts first; a refusal cancels it, or `discard`s what it already
    produced (an opened stream), and is raised. The step must change nothing a refused call may
    not: it may still have run in part."""
    admission: Admission = scope["state"]["admission"]
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

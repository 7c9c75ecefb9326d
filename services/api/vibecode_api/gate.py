"""The gate every API call passes once, in order: identity → hourly rate limit.

Quota checks follow in the write paths themselves (`quotas.py`), then the handler, then audit.
Health, monitoring and Prometheus are outside the gate: they need no identity and do not count.
The web console's pages (`/`, `/console/*`) need an identity but do not count; static assets
need neither.
The hourly limit is a fixed window kept in PostgreSQL with one atomic upsert that refuses to count
past the limit, so it holds across any number of API processes sharing the database.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from vibecode_platform import telemetry as names

from . import telemetry
from .errors import ApiError
from .identity import IdentityResolver

_OPEN_PREFIXES = ("/api/health", "/api/monitoring")
_GATED_PREFIXES = ("/api/", "/v1/")
_CONSOLE_PREFIX = "/console/"
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
WINDOW_SECONDS = 3600

_COUNT_CALL = """
INSERT INTO api_calls (user_id, window_start, count) VALUES (%s, %s, 1)
ON CONFLICT (user_id, window_start) DO UPDATE SET count = api_calls.count + 1
WHERE api_calls.count < %s
RETURNING count
"""


def window_of(now: float) -> tuple[dt.datetime, dt.datetime]:
    """The fixed hourly window containing `now`, as (start, reset)."""
    start = math.floor(now / WINDOW_SECONDS) * WINDOW_SECONDS
    begin = dt.datetime.fromtimestamp(start, dt.UTC)
    return begin, begin + dt.timedelta(seconds=WINDOW_SECONDS)


def is_gated(path: str) -> bool:
    return path.startswith(_GATED_PREFIXES) and not path.startswith(_OPEN_PREFIXES)


def is_console(path: str) -> bool:
    """The web console's pages and fragments: they need an identity but are not API calls
    (what they change goes through `/api/*`, which counts), so they do not use up the limit."""
    return path == "/" or path.startswith(_CONSOLE_PREFIX)


class GateMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        console = is_console(path)
        if not console and not is_gated(path):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        resolver: IdentityResolver = state.identity
        identity = resolver.resolve(scope)
        scope["state"]["identity"] = identity
        if console:  # an identity, but not an API call: the hourly limit does not apply
            await self.app(scope, receive, send)
            return

        limit = identity.tier.max_api_calls_per_hour
        now = state.clock()
        begin, reset = window_of(now)
        async with state.db.connection() as conn:
            row = await (await conn.execute(_COUNT_CALL, (identity.user, begin, limit))).fetchone()
        reset_in = max(1, math.ceil(reset.timestamp() - now))
        used = row["count"] if row else limit
        headers = [
            (b"ratelimit-limit", str(limit).encode()),
            (b"ratelimit-remaining", str(max(0, limit - used)).encode()),
            (b"ratelimit-reset", str(reset_in).encode()),
        ]
        if row is None:
            telemetry.count(names.RATE_LIMIT_REFUSALS, tags=(f"tier:{identity.tier_name.value}",))
            if scope["method"] not in _SAFE_METHODS:
                await state.audit.record_scope(
                    scope, "api.call", "refused_rate_limit", target=scope["path"]
                )
            raise ApiError(
                429,
                "rate_limited",
                f"{limit} API calls per hour for the {identity.tier_name.value} tier are used up; "
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

        async def send_with_headers(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)

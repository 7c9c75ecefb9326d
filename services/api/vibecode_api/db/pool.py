"""The async connection pool, and the translation of "database gone" into a 503.

A broken connection is checked and discarded when it is handed out, and the pool opens new ones on
demand, so when the database comes back the API recovers by itself, within about two seconds,
without a restart. Waiting for a
connection is bounded by `VIBE_DB_TIMEOUT`; past it the caller gets `DatabaseUnavailable` (503).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from ..errors import DatabaseUnavailable
from ..logs import get_logger
from . import migrate

log = get_logger(__name__)

RECONNECT_WINDOW = 2.0
CHECK_IDLE_SECONDS = 1.0
"""A connection back in the pool for longer than this is probed before it is handed out."""


class Database:
    def __init__(
        self, url: str, *, max_size: int = 10, timeout_ms: int = 3000, options: str = ""
    ) -> None:
        self.url = url
        self.timeout = timeout_ms / 1000
        self._schema = anyio.Event()
        self._last_returned: dict[int, float] = {}
        self.pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            open=False,
            timeout=self.timeout,
            check=self._check,
            reset=self._returned,
            # `options`: session settings (libpq `-c name=value`) every pooled connection has.
            kwargs={"autocommit": True, "row_factory": dict_row}
            | ({"options": options} if options else {}),
            # psycopg_pool retries a lost connection with exponential backoff until this
            # window closes, then lets the next request start afresh: a short window keeps
            # recovery within ~2 s of the database's return, however long the outage was.
            reconnect_timeout=RECONNECT_WINDOW,
            name="vibecode",
        )

    async def _returned(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._last_returned[id(conn)] = time.monotonic()

    async def _check(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Probe only connections idle for a while: a busy one was fine a moment ago, and the
        probe's round trip would otherwise double the cost of the cheapest queries."""
        if time.monotonic() - self._last_returned.get(id(conn), 0.0) > CHECK_IDLE_SECONDS:
            await AsyncConnectionPool.check_connection(conn)

    async def open(self) -> None:
        await self.pool.open(wait=False)

    async def close(self) -> None:
        await self.pool.close()

    async def migrate(self) -> bool:
        """Apply pending migrations; False (and logged) when the database is unreachable."""
        try:
            applied = await migrate.apply(self.url)
        except psycopg.OperationalError as err:
            log.warning("migrations_pending_database_unreachable", error=str(err).splitlines()[0])
            return False
        self._schema.set()
        if applied:
            log.info("migrations_applied", migrations=applied)
        return True

    @property
    def schema_ready(self) -> bool:
        return self._schema.is_set()

    async def wait_schema(self) -> None:
        """Until migrations have been applied (they are retried while the database is away)."""
        await self._schema.wait()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection (autocommit; use `conn.transaction()` for atomic work)."""
        try:
            async with self.pool.connection() as conn:
                yield conn
        except PoolTimeout as err:
            raise DatabaseUnavailable() from err

    async def ping(self) -> tuple[bool, float | str]:
        """(ok, latency ms) or (False, reason) — for health and readiness."""
        started = time.perf_counter()
        try:
            async with self.pool.connection(timeout=min(self.timeout, 2.0)) as conn:
                await conn.execute("SELECT 1")
        except (PoolTimeout, psycopg.OperationalError) as err:
            return False, type(err).__name__
        return True, round((time.perf_counter() - started) * 1000, 2)

"""Versioned schema migrations, applied at start with yoyo-migrations.

The SQL files in `migrations/` are the schema's history; yoyo records what ran in its own table and
takes a lock, so several API processes starting together apply each migration exactly once.
"""

from __future__ import annotations

from pathlib import Path

import anyio

MIGRATIONS = Path(__file__).parent / "migrations"


def _yoyo_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def apply_sync(url: str) -> list[str]:
    from yoyo import get_backend, read_migrations

    backend = get_backend(_yoyo_url(url))
    try:
        migrations = read_migrations(str(MIGRATIONS))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        return [m.id for m in pending]
    finally:
        backend.connection.close()


async def apply(url: str) -> list[str]:
    return await anyio.to_thread.run_sync(apply_sync, url)

"""`/api/monitoring/metrics`: the seeds' getMetrics() shape, plus memory and pool figures."""

from __future__ import annotations

from typing import Any

from litestar import get
from litestar.datastructures import State
from litestar.di import NamedDependency

from ..db import Database
from .health import rss_mb


@get("/api/monitoring/metrics", tags=["monitoring"], summary="Request counters of this process")
async def metrics(state: State, db: NamedDependency[Database]) -> dict[str, Any]:
    pool = db.pool.get_stats()
    return {
        **state.stats.snapshot(),
        "memoryRssMb": rss_mb(),
        "dbPool": {"size": pool.get("pool_size", 0), "available": pool.get("pool_available", 0)},
    }


handlers = [metrics]

"""`/api/monitoring/metrics`: the seeds' getMetrics() shape, plus memory and pool figures."""

from __future__ import annotations

from typing import cast

from litestar import get
from litestar.datastructures import State
from litestar.di import NamedDependency

from ..db import Database
from ..views import MetricsView
from .health import rss_mb


@get(
    "/api/monitoring/metrics",
    tags=["monitoring"],
    summary="Request counters of this process",
    operation_id="readMetrics",
)
async def metrics(state: State, db: NamedDependency[Database]) -> MetricsView:
    pool = db.pool.get_stats()
    # cast: mypy does not type a TypedDict unpacked into a dict display
    return cast(
        MetricsView,
        {
            **state.stats.snapshot(),
            "memoryRssMb": rss_mb(),
            "dbPool": {
                "size": pool.get("pool_size", 0),
                "available": pool.get("pool_available", 0),
            },
        },
    )


handlers = [metrics]

"""Health (`/api/health`), and the Kubernetes probes (`/live`, `/ready`).

Unhealthy (503) when the database is unreachable or its schema is not in place; degraded (still
200) when something needs attention but requests are served: memory above `VIBE_MEMORY_WARN_MB`.
"""

from __future__ import annotations

from typing import Any

import psutil
from litestar import Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from ..db import Database
from ..db.embedded import EmbeddedPostgres
from ..providers import Gateway
from ..services import services_of
from ..settings import Settings
from ..views import HealthView, LiveView, ReadyView

_process = psutil.Process()


def rss_bytes() -> int:
    return int(_process.memory_info().rss)


def rss_mb() -> float:
    return round(rss_bytes() / 2**20, 1)


def _config_check(s: Settings) -> dict[str, Any]:
    """Degraded while uploads may be stored unscanned (`VIBE_CLAMD_FAIL_OPEN`)."""
    scanning = "off" if not s.clamd_url else ("fail-open" if s.clamd_fail_open else "on")
    return {
        "status": "warn" if scanning == "fail-open" else "ok",
        "dryRun": s.dry_run,
        "audit": s.audit,
        "devUser": bool(s.dev_user),
        "uploadScanning": scanning,
    }


def _provider_check(gateway: Gateway) -> dict[str, Any]:
    """Each provider of the chain: configured, cooling down, last error. Degraded while the
    primary cools down (answers still come, from a fallback); offline is a mode, not a fault."""
    live = {p.name: p for p in gateway.providers}
    providers = []
    for name in gateway.chain:
        p = live.get(name)
        providers.append(
            {
                "name": name,
                "configured": p is not None,
                "coolingDown": bool(p and p.breaker.tripped),
                "lastError": p.breaker.last_error if p else None,
            }
        )
    primary = providers[0] if providers else None
    status = "warn" if primary and primary["coolingDown"] else "ok"
    if gateway.providers and all(p.breaker.tripped for p in gateway.providers):
        status = "warn"
    return {
        "status": status,
        "mode": "offline" if gateway.offline else "online",
        "providers": providers,
    }


async def _database_check(db: Database, embedded: EmbeddedPostgres | None) -> dict[str, Any]:
    """With the embedded server, also what its supervisor saw: restarts and the last death."""
    extra = {"embedded": embedded.status()} if embedded is not None else {}
    if embedded is not None and embedded.restarting:
        return {"status": "error", "error": "the embedded server died; restarting it", **extra}
    ok, info = await db.ping()
    if not ok:
        return {"status": "error", "error": f"unreachable ({info})", **extra}
    if not db.schema_ready:
        return {"status": "error", "error": "schema migrations not applied yet", **extra}
    return {"status": "ok", "latencyMs": info, **extra}


def _memory_check(settings: Settings) -> dict[str, Any]:
    rss, limit = rss_mb(), settings.memory_warn_mb
    return {"status": "ok" if rss <= limit else "warn", "rssMb": rss, "limitMb": limit}


@get(
    "/api/health",
    tags=["health"],
    summary="Overall health with its checks",
    operation_id="readHealth",
    responses={
        503: ResponseSpec(HealthView, description="unhealthy", generate_examples=False),
    },
)
async def health(state: State) -> Response[HealthView]:
    # Probes read the typed services directly: injecting three of them would cost a task
    # group per probe (see routes/llm.py).
    services = services_of(state)
    checks = {
        "config": _config_check(services.settings),
        "provider": _provider_check(services.gateway),
        "database": await _database_check(services.db, services.embedded),
        "memory": _memory_check(services.settings),
    }
    statuses = {c["status"] for c in checks.values()}
    if "error" in statuses:
        report: HealthView = {"status": "unhealthy", "checks": checks}
    else:
        report = {"status": "degraded" if statuses - {"ok"} else "healthy", "checks": checks}
    code = HTTP_503_SERVICE_UNAVAILABLE if report["status"] == "unhealthy" else HTTP_200_OK
    return Response(report, status_code=code)


@get(
    "/api/health/live",
    tags=["health"],
    summary="Liveness probe: the event loop answers",
    operation_id="live",
)
async def live() -> LiveView:
    return {"status": "alive"}


@get(
    "/api/health/ready",
    tags=["health"],
    summary="Readiness probe: the database is usable",
    operation_id="ready",
    responses={
        503: ResponseSpec(
            ReadyView,
            description="not ready: draining, or the database away",
            generate_examples=False,
        ),
    },
)
async def ready(state: State) -> Response[ReadyView]:
    services = services_of(state)
    check = await _database_check(services.db, services.embedded)
    if state.get("draining") or check["status"] != "ok":
        reason = "shutting down" if state.get("draining") else check["error"]
        return Response(
            {"status": "not_ready", "reason": reason}, status_code=HTTP_503_SERVICE_UNAVAILABLE
        )
    return Response({"status": "ready"}, status_code=HTTP_200_OK)


handlers = [health, live, ready]

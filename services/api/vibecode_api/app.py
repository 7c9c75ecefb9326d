"""The Litestar application: `create_app(settings)` wires state, layers and routes.

Request path, outermost first: request context (id, access log, counters) → Litestar's routing
and exception layer → admission (identity, hourly limit, dry run) → the handler. The lifespan
opens the database — the embedded server when no URL is configured — applies migrations, and on
shutdown stops taking new work, lets the server drain in-flight requests, closes the pool and
releases the embedded server.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import psycopg
from litestar import HttpMethod, Litestar, Request, Response, route
from litestar.datastructures import State
from litestar.di import Provide
from litestar.handlers import HTTPRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.plugins.prometheus import PrometheusController
from litestar.plugins.pydantic import PydanticPlugin
from vibecode_core import metric_names as names

from . import __version__, console, logs, provisioners, telemetry, tracing
from .admission import AdmissionMiddleware
from .audit import Audit
from .authz import WorkspaceAuthz
from .clock import SYSTEM_CLOCK, Clock
from .context import RequestContext
from .db import Database
from .db.embedded import EmbeddedPostgres
from .errors import EXCEPTION_HANDLERS, DatabaseUnavailable
from .identity import Identity, IdentityResolver, unauthenticated
from .middleware import RequestContextMiddleware
from .providers import Gateway
from .quotas import Quotas
from .rag import search
from .rag.service import Rag
from .routes import account, files, health, llm, monitoring, openapi, tokens, workspaces
from .routes import authz as authz_routes
from .routes.dependencies import owned_workspace
from .services import DEPENDENCIES, Services
from .sessions import SessionManager
from .settings import Settings, load_settings
from .stats import RequestStats
from .tokens import Tokens

log = logs.get_logger(__name__)

MIGRATION_RETRY_SECONDS = 2.0
GAUGE_SECONDS = 10.0


async def _migrate_until_done(db: Database) -> None:
    """Retry while the database is away: it is outside our process, so polling is the way."""
    while True:
        await anyio.sleep(MIGRATION_RETRY_SECONDS)
        if await db.migrate():
            return


async def _report_gauges(sessions: SessionManager, gateway: Gateway) -> None:
    """The gauges Datadog's monitors and the autoscaler read, every GAUGE_SECONDS. Every pod
    reports the platform-wide session count, so `avg` across pods is the platform's number."""
    await sessions.db.wait_schema()
    while True:
        telemetry.gauge(names.MEMORY_RSS, health.rss_bytes())
        telemetry.gauge(
            names.PROVIDERS_AVAILABLE,
            sum(not p.breaker.tripped for p in gateway.providers),
        )
        try:
            telemetry.gauge(names.ACTIVE_SESSIONS, await sessions.active_count())
        except Exception as err:  # the database may be away; the next round reports again
            log.warning("session_gauge_failed", error=type(err).__name__)
        await anyio.sleep(GAUGE_SECONDS)


def _lifespan(settings: Settings, clock: Clock) -> Any:
    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        embedded: EmbeddedPostgres | None = None
        if settings.database_url is None:
            embedded = EmbeddedPostgres(settings.data_dir)
            url = await anyio.to_thread.run_sync(embedded.start)
        else:
            url = settings.database_url.get_secret_value()
        db = Database(
            url,
            max_size=settings.db_pool_size,
            timeout_ms=settings.db_timeout,
            options=search.SESSION_OPTIONS,
        )
        provisioner = provisioners.create(settings)
        audit = Audit(db, settings.audit)
        quotas = Quotas(db, audit)
        sessions = SessionManager(
            db,
            provisioner,
            quotas,
            audit,
            idle_timeout=settings.session_idle_timeout,
            start_timeout=settings.session_start_timeout,
            reap_interval=settings.session_reap_interval,
        )
        gateway = Gateway(settings, clock=clock.monotonic)
        authz = WorkspaceAuthz(settings)
        rag = Rag(settings, db, quotas, audit, gateway)
        tokens = Tokens(db, audit, app.state.identity)
        app.state.services = Services(
            settings=settings,
            clock=clock,
            db=db,
            audit=audit,
            quotas=quotas,
            sessions=sessions,
            gateway=gateway,
            authz=authz,
            rag=rag,
            tokens=tokens,
            embedded=embedded,
        )
        await db.open()
        telemetry.configure(settings)
        try:
            async with anyio.create_task_group() as tg:
                if not await db.migrate():
                    tg.start_soon(_migrate_until_done, db)
                if embedded is not None:
                    tg.start_soon(embedded.supervise)
                tg.start_soon(sessions.run)
                tg.start_soon(rag.run)
                if settings.dogstatsd:
                    tg.start_soon(_report_gauges, sessions, gateway)
                    tg.start_soon(telemetry.run)
                log.info(
                    "api_started",
                    version=__version__,
                    embedded_db=embedded is not None,
                    dry_run=settings.dry_run,
                    audit=settings.audit,
                )
                # What start-up built (modules, routes, models) lives as long
                # as the process: out of the collector's reach, a full collection scans only
                # what requests left, a fraction of the stall it was.
                gc.freeze()
                try:
                    yield
                finally:
                    app.state.draining = True
                    tg.cancel_scope.cancel()
        finally:
            try:
                if provisioner.name == "local" and db.schema_ready:
                    # Local code-servers are children of this machine's API: they go with it.
                    with anyio.CancelScope(shield=True), anyio.move_on_after(15):
                        try:
                            await sessions.stop_all("api stopped")
                        except (psycopg.Error, DatabaseUnavailable) as err:
                            # The database went first: the rest of the shutdown still runs.
                            log.warning("sessions_not_stopped", error=str(err).splitlines()[0])
                await provisioner.aclose()
                await gateway.aclose()
                await authz.aclose()
                await rag.aclose()
            finally:
                # Whatever failed above, the pool closes: its reconnecting tasks would
                # otherwise keep the process from exiting.
                await db.close()
                telemetry.close()
                if embedded is not None:
                    await anyio.to_thread.run_sync(embedded.stop)
                log.info("api_stopped")

    return lifespan


def context_of(request: Request[Any, Any, Any]) -> RequestContext:
    """What the domain needs of this request (set with the identity by admission)."""
    ctx: RequestContext = request.scope["state"]["context"]
    return ctx


def identity_of(request: Request[Any, Any, Any]) -> Identity:
    """The identity the admission middleware established for this request."""
    identity: Identity | None = request.scope.get("state", {}).get("identity")
    if identity is None:
        raise unauthenticated("no identity: this route requires the auth proxy's headers")
    return identity


def _options(handlers: Sequence[Any]) -> list[HTTPRouteHandler]:
    """An OPTIONS answer for each path with several handlers, naming all their methods: Litestar
    2's own names only the first handler registered for a path (litestar#4169, fixed in v3)."""
    methods: dict[str, set[str]] = defaultdict(set)
    for handler in handlers:
        if isinstance(handler, HTTPRouteHandler):
            for path in handler.paths:
                methods[path] |= handler.http_methods
    return [
        _allow(path, ", ".join(sorted({*verbs, "OPTIONS"})))
        for path, verbs in methods.items()
        if len(verbs) > 1 and "OPTIONS" not in verbs
    ]


def _allow(path: str, allow: str) -> HTTPRouteHandler:
    def options() -> Response[None]:
        return Response(None, status_code=204, headers={"Allow": allow})

    return route(
        path, http_method=[HttpMethod.OPTIONS], include_in_schema=False, sync_to_thread=False
    )(options)


class _Metrics(PrometheusController):
    path = "/metrics"
    include_in_schema = False


def create_app(
    settings: Settings, extra_handlers: Sequence[Any] = (), clock: Clock = SYSTEM_CLOCK
) -> Litestar:
    logs.configure(settings.log_level.value, settings.secret_values())
    if settings.dev_user:
        log.warning(
            "dev_user_enabled",
            user=settings.dev_user,
            detail="header-less requests from trusted peers act as this user; "
            "never set VIBE_DEV_USER in production",
        )
    stats = RequestStats()
    handlers = [
        *health.handlers,
        *authz_routes.handlers,
        *monitoring.handlers,
        _Metrics,
        *workspaces.handlers,
        *account.handlers,
        *llm.handlers,
        *files.handlers,
        *tokens.handlers,
        *console.handlers,
        *extra_handlers,
    ]
    app = Litestar(
        route_handlers=[*_options(handlers), *handlers],  # first: no default OPTIONS then
        dependencies={
            **DEPENDENCIES,
            "identity": Provide(identity_of, sync_to_thread=False),
            "ctx": Provide(context_of, sync_to_thread=False),
            "workspace": Provide(owned_workspace),
        },
        lifespan=[_lifespan(settings, clock)],
        state=State(
            {
                "stats": stats,
                "identity": IdentityResolver(settings),
                # user → (hourly window, calls left) at this process's last count (rate_limit.py)
                "calls_left": {},
                "draining": False,
            }
        ),
        middleware=[DefineMiddleware(AdmissionMiddleware)],  # type: ignore[arg-type]
        # Bodies are validated as their schema says: `"stream": 0` is not a boolean. Litestar
        # passes strict=False to pydantic unless told (overriding the models' own setting).
        plugins=[PydanticPlugin(validate_strict=True)],
        template_config=console.template_config,
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi.config("VibeCode API", __version__),
        logging_config=None,
        debug=False,
    )
    # Outside Litestar's own exception layer, so unknown routes (404/405) are counted and logged
    # too: route-level middleware never sees them.
    app.asgi_handler = RequestContextMiddleware(app.asgi_handler, stats)  # type: ignore[assignment]
    app.asgi_handler = tracing.instrument(app.asgi_handler, settings)
    return app


def create_app_from_env() -> Litestar:
    """The server's factory: settings from the environment (exit 2 when invalid)."""
    return create_app(load_settings())

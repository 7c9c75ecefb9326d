"""Datadog APM with ddtrace, on only when `DD_TRACE_ENABLED=true` (Datadog's own switch).

ddtrace has no Litestar integration, so the app is wrapped in ddtrace's ASGI middleware and the
libraries below it are patched (psycopg queries, httpx calls to providers). Spans are named by
route template (`GET /api/workspaces/{workspaceId}/files`), never by raw path, so ids do not
become resources. ddtrace reads the rest of its configuration (agent URL, sampling, env, service,
version) from its own `DD_*` variables. Imported only when on: it costs memory and start time.
"""

from __future__ import annotations

from typing import Any

from .middleware import QUIET_PATHS
from .settings import Settings

_HIDDEN_APP = "vibecode.app"


def instrument(app: Any, settings: Settings) -> Any:
    """`app` wrapped for tracing when DD_TRACE_ENABLED is true; otherwise `app` itself."""
    if not settings.dd_trace_enabled:
        return app
    import ddtrace
    from ddtrace.contrib.asgi import TraceMiddleware, span_from_scope

    ddtrace.patch(psycopg=True, httpx=True)

    async def named(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if _HIDDEN_APP in scope:
            scope["app"] = scope.pop(_HIDDEN_APP)

        async def send_named(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                span = span_from_scope(scope)
                template = scope.get("path_template")
                if span is not None and template:
                    span.resource = f"{scope['method']} {template}"
                    span.set_tag("http.route", template)
            await send(message)

        await app(scope, receive, send_named if scope["type"] == "http" else send)

    traced = TraceMiddleware(named)

    async def hide_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        # ddtrace flags `scope["app"]` with an attribute on its first request; Litestar's app
        # has __slots__ and refuses. It walks Starlette routes only, so it may not see ours.
        if scope["type"] == "http" and scope["path"].startswith(QUIET_PATHS):
            await app(scope, receive, send)  # probes and scrapes are not worth a trace
            return
        if "app" in scope:
            scope[_HIDDEN_APP] = scope.pop("app")
        await traced(scope, receive, send)

    return hide_app

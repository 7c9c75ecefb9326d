"""The outermost ASGI layer: a request id on every log line, one access line, request counters.

Pure ASGI (no Litestar middleware machinery) because it wraps every request, including the
cheapest probes; it is on the hot path, so it avoids per-request allocations it does not need
(`make bench` measures it). The id comes from a sane `X-Request-ID` header or is generated, and
is echoed back.
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any

from .logs import get_logger, request_id_var
from .stats import UNMATCHED, RequestStats

log = get_logger("vibecode_api.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
QUIET_PATHS = ("/api/health", "/metrics")


class RequestContextMiddleware:
    def __init__(self, app: Any, stats: RequestStats) -> None:
        self.app = app
        self.stats = stats
        # Probe and scrape lines are logged only when debugging: they would drown the rest.
        self.log_quiet = logging.getLogger().isEnabledFor(logging.DEBUG)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                if _SAFE_ID.match(incoming):
                    request_id = incoming
                break
        if not request_id:
            request_id = os.urandom(16).hex()
        status = 500
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["started"] = started
        header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        token = request_id_var.set(request_id)
        self.stats.begin()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            latency_ms = (time.perf_counter() - started) * 1000
            path = scope["path"]
            quiet = path.startswith(QUIET_PATHS)
            # Probes and scrapes are not request series: they are noise there.
            template = None if quiet else scope.get("path_template", UNMATCHED)
            self.stats.record(status, latency_ms, scope["method"], template)
            if status >= 400 or self.log_quiet or not quiet:
                log.info(
                    "request",
                    method=scope["method"],
                    path=path,
                    status=status,
                    duration_ms=round(latency_ms, 2),
                )
            request_id_var.reset(token)

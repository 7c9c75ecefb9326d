"""What every request passes once, before its handler: who is calling (`identity.py`), whether
the call fits the hourly limit (`rate_limit.py`) and whether writes are blocked (`dry_run.py`).

Quota checks follow in the write paths themselves (`quotas.py`), then the handler, then audit.
Health, monitoring and Prometheus need no identity and do not count. The web console's pages
(`/`, `/console/*`) need an identity but do not count; static assets need neither.
"""

from __future__ import annotations

from typing import Any

from .context import RequestContext
from .dry_run import refuse_in_dry_run
from .errors import ApiError, send_error
from .identity import IdentityResolver
from .rate_limit import RateLimitCheck
from .services import Services
from .tokens import ACCOUNT_ONLY, bearer, token_scope_refusal

_OPEN_PREFIXES = ("/api/health", "/api/monitoring", "/api/authz/")
_GATED_PREFIXES = ("/api/", "/v1/")
_CONSOLE_PREFIX = "/console/"


def is_gated(path: str) -> bool:
    return path.startswith(_GATED_PREFIXES) and not path.startswith(_OPEN_PREFIXES)


def is_console(path: str) -> bool:
    """The web console's pages and fragments: they need an identity but are not API calls
    (what they change goes through `/api/*`, which counts), so they do not use up the limit."""
    return path == "/" or path.startswith(_CONSOLE_PREFIX)


class AdmissionMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        state = scope["app"].state
        services: Services = state.services
        console = is_console(path)
        if not console and not is_gated(path):
            if path:
                ctx = RequestContext.of(scope, "anonymous", services.settings.dry_run)
                scope["state"]["context"] = ctx
                await refuse_in_dry_run(ctx, services.audit)
            await self.app(scope, receive, send)
            return
        resolver: IdentityResolver = state.identity
        token = bearer(scope)
        try:
            # A trusted proxy identity wins: it is the signed-in browser (2FA) behind the
            # ingress. A token counts from any peer that brings no such identity.
            identity = resolver.resolve(scope, dev_user=token is None)
        except ApiError:
            if token is None:
                raise
            identity = await services.tokens.authenticate(token)
        else:
            await services.tokens.remember(identity)
        if identity.workspace_scope is not None and scope["route_handler"].opt.get(ACCOUNT_ONLY):
            raise token_scope_refusal()
        ctx = RequestContext.of(scope, identity.user, services.settings.dry_run, identity.token_id)
        scope["state"]["identity"] = identity
        scope["state"]["context"] = ctx
        if console:  # an identity, but not an API call: the hourly limit does not apply
            await self.app(scope, receive, send)
            return
        admission = RateLimitCheck(
            ctx,
            scope["method"],
            identity,
            services.clock.time(),
            services.db,
            services.audit,
            state.calls_left,
        )
        if scope["route_handler"].opt.get("overlaps_verdict"):
            scope["state"]["admission"] = admission  # the handler waits for it (see RateLimitCheck)
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

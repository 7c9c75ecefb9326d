"""What the domain needs to know of a request: who asks, which request it is, which write the
route declared, and whether writes are blocked. The ASGI scope stays in the HTTP layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RequestContext:
    actor: str
    """the signed-in user, or `anonymous`"""
    request_id: str
    action: str = ""
    """the write the route declares (`opt={"audit": ...}`): what its audit rows record"""
    target: str = ""
    """the request's path: what a refusal's audit row names"""
    dry_run: bool = False
    token_id: str = ""
    """the bearer token the request came with, which its audit rows name"""

    @classmethod
    def of(
        cls, scope: dict[str, Any], actor: str, dry_run: bool, token_id: str = ""
    ) -> RequestContext:
        handler = scope.get("route_handler")
        return cls(
            actor=actor,
            request_id=str(scope.get("state", {}).get("request_id", "")),
            action=handler.opt.get("audit", "") if handler is not None else "",
            target=scope.get("path", ""),
            dry_run=dry_run,
            token_id=token_id,
        )


BACKGROUND = RequestContext(actor="system", request_id="")
"""For work no request asked for (the idle sweep, reconciling at start)."""

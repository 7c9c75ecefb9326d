"""The services a running API holds: built once by the lifespan, handed to route handlers by
Litestar's dependency injection (`DEPENDENCIES`), each under the parameter name it is asked by."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from litestar.datastructures import State
from litestar.di import Provide

from .audit import Audit
from .authz import WorkspaceAuthz
from .clock import Clock
from .db import Database
from .db.embedded import EmbeddedPostgres
from .providers import Gateway
from .quotas import Quotas
from .rag.service import Rag
from .sessions import SessionManager
from .settings import Settings
from .tokens import Tokens


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    clock: Clock
    db: Database
    audit: Audit
    quotas: Quotas
    sessions: SessionManager
    gateway: Gateway
    authz: WorkspaceAuthz
    rag: Rag
    tokens: Tokens
    embedded: EmbeddedPostgres | None
    """the embedded server when no VIBE_DATABASE_URL is set (health reports its restarts)"""


def services_of(state: State) -> Services:
    """The running app's services (set by the lifespan before the first request)."""
    services: Services = state.services
    return services


def _provider(name: str) -> Provide:
    def provide(state: State) -> Any:
        return getattr(state.services, name)

    return Provide(provide, sync_to_thread=False)


DEPENDENCIES = {f.name: _provider(f.name) for f in fields(Services) if f.name != "embedded"}
"""`db: Database`, `sessions: SessionManager`, … in a handler's signature."""

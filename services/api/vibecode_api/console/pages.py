"""Console pages and the HTMX fragments they refresh.

Fragments poll only while something is in motion (files pending, a session loading or
starting), and the ready session is watched with a cheap request that answers 204 while nothing
changed, so an open page costs almost nothing and code-server's frame is never reloaded.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from litestar import Response, get
from litestar.datastructures import CacheControlHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, Parameter
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from .. import workspaces
from ..clock import Clock
from ..db import Database
from ..identity import Identity
from ..provisioners import SessionState
from ..quotas import Quotas
from ..routes.files import file_listing
from ..sessions import SessionManager
from ..views import FileView, WorkspaceSummaryView
from ..workspaces import Workspace

HERE = Path(__file__).parent
TEMPLATE_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"
STATIC_PATH = "/static"

ACTIVE = (SessionState.loading, SessionState.starting)
POLL_ACTIVE = "every 1s"
POLL_READY = "every 5s"
NEAR_LIMIT = 0.8
"""A quota bar turns amber at 80 % of its limit (meter `high`)."""

# Scripts and styles only from us (no inline code: htmx's indicator styles are off); frames
# may be code-server wherever the provisioner put it; nobody may frame the console itself.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src http: https:; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'; object-src 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@cache
def asset(name: str) -> str:
    """`/static/<name>?v=<content hash>`: assets are cached for a year and a new build busts it."""
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"{STATIC_PATH}/{name}?v={digest}"


def _engine_setup(engine: JinjaTemplateEngine) -> None:
    engine.engine.globals["asset"] = asset
    engine.engine.globals["near_limit"] = NEAR_LIMIT


template_config = TemplateConfig(
    directory=TEMPLATE_DIR, engine=JinjaTemplateEngine, engine_callback=_engine_setup
)

static_router = create_static_files_router(
    path=STATIC_PATH,
    directories=[STATIC_DIR],
    cache_control=CacheControlHeader(max_age=365 * 24 * 3600, public=True, immutable=True),
    include_in_schema=False,
    name="console-static",
)


def _page(name: str, context: dict[str, Any]) -> Template:
    return Template(template_name=name, context=context, headers=PAGE_HEADERS)


def _fragment(name: str, context: dict[str, Any]) -> Template:
    return Template(template_name=name, context=context, headers={"Cache-Control": "no-store"})


async def _workspaces(db: Database, identity: Identity) -> list[WorkspaceSummaryView]:
    async with db.connection() as conn:
        return await workspaces.listing(conn, identity)


async def _owned(
    db: Database, identity: Identity, workspace_id: str, with_files: bool = False
) -> tuple[Workspace, list[FileView]]:
    """The caller's workspace row (404 for anyone else's) and, when asked, its files."""
    async with db.connection() as conn:
        row = await workspaces.owned(conn, identity, workspace_id)
        listing = await file_listing(conn, workspace_id) if with_files else []
    return row, listing


@get("/", include_in_schema=False, name="console")
async def index(db: NamedDependency[Database], identity: NamedDependency[Identity]) -> Template:
    return _page(
        "index.html",
        {
            "me": identity.public(),
            "workspaces": await _workspaces(db, identity),
            "ws": None,
        },
    )


@get("/console/workspaces/{workspace_id:str}", include_in_schema=False)
async def workspace_page(
    db: NamedDependency[Database],
    sessions: NamedDependency[SessionManager],
    identity: NamedDependency[Identity],
    workspace_id: FromPath[str],
) -> Template:
    row, listing = await _owned(db, identity, workspace_id, with_files=True)
    return _page(
        "index.html",
        {
            "me": identity.public(),
            "workspaces": await _workspaces(db, identity),
            "ws": row.public(),
            "files": listing,
            "session": await sessions.status(row.ref()),
        },
    )


@get("/console/fragments/workspaces", include_in_schema=False)
async def workspace_list(
    db: NamedDependency[Database],
    identity: NamedDependency[Identity],
    current: Annotated[str | None, Parameter(max_length=64)] = None,
) -> Template:
    return _fragment(
        "workspaces.html",
        {"workspaces": await _workspaces(db, identity), "current": current},
    )


@get("/console/fragments/usage", include_in_schema=False)
async def usage(
    db: NamedDependency[Database],
    quotas: NamedDependency[Quotas],
    clock: NamedDependency[Clock],
    identity: NamedDependency[Identity],
) -> Template:
    async with db.connection() as conn:
        usage = await quotas.usage(conn, identity, clock.time())
    return _fragment("usage.html", {"quotas": usage, "tier": identity.tier_name.value})


@get("/console/fragments/workspaces/{workspace_id:str}/files", include_in_schema=False)
async def files(
    db: NamedDependency[Database], identity: NamedDependency[Identity], workspace_id: FromPath[str]
) -> Template:
    row, listing = await _owned(db, identity, workspace_id, with_files=True)
    return _fragment("files.html", {"ws": row.public(), "files": listing})


@get("/console/fragments/workspaces/{workspace_id:str}/session", include_in_schema=False)
async def session(
    db: NamedDependency[Database],
    sessions: NamedDependency[SessionManager],
    identity: NamedDependency[Identity],
    workspace_id: FromPath[str],
    shown: Annotated[str | None, Parameter(max_length=16)] = None,
) -> Template | Response[None]:
    """The session panel; with `shown`, 204 while the state is still the one on the page."""
    row, _ = await _owned(db, identity, workspace_id)
    current = await sessions.status(row.ref())
    if shown is not None and shown == current["status"]:
        return Response(None, status_code=204, headers={"Cache-Control": "no-store"})
    fragment = _fragment("session.html", {"ws": row.public(), "session": current})
    if shown is not None:  # it moved: the sidebar and the session quota show it too
        fragment.headers["HX-Trigger"] = "workspaces-changed, usage-changed"
    return fragment


handlers: list[Any] = [index, workspace_page, workspace_list, usage, files, session, static_router]

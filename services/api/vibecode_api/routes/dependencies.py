"""What route handlers share through Litestar's dependency injection (registered in app.py)."""

from __future__ import annotations

from litestar.di import NamedDependency
from litestar.params import FromPath

from .. import workspaces
from ..db import Database
from ..identity import Identity
from ..workspaces import Workspace


async def owned_workspace(
    db: NamedDependency[Database], identity: NamedDependency[Identity], workspace_id: FromPath[str]
) -> Workspace:
    """The caller's workspace row for the route's `workspace_id`, or 404 (also for anyone
    else's): the one ownership check of routes that need nothing else from that connection.
    Routes that check ownership inside their own transaction, or while a slower first step
    runs beside it (search, upload, chat's retrieval), call `workspaces.owned` themselves."""
    async with db.connection() as conn:
        return await workspaces.owned(conn, identity, workspace_id)

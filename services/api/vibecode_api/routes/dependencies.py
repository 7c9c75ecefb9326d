"""What route handlers share through Litestar's dependency injection (registered in app.py)."""

from __future__ import annotations

from typing import Any

from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath

from .. import workspaces
from ..identity import Identity


async def owned_workspace(
    state: State, identity: NamedDependency[Identity], workspace_id: FromPath[str]
) -> dict[str, Any]:
    """The caller's workspace row for the route's `workspace_id`, or 404 (also for anyone
    else's): the one ownership check of routes that need nothing else from that connection.
    Routes that check ownership inside their own transaction, or while a slower first step
    runs beside it (search, upload, chat's retrieval), call `workspaces.owned` themselves."""
    async with state.db.connection() as conn:
        return await workspaces.owned(conn, identity, workspace_id)

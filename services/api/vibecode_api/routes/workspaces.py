"""`/api/workspaces`: create, list, read, delete — and the workspace's console session."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Response, delete, get, post
from litestar.di import NamedDependency
from litestar.params import Body, FromPath
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .. import workspaces
from ..audit import Audit
from ..context import RequestContext
from ..db import Database
from ..identity import Identity
from ..quotas import Quotas
from ..sessions import START, STOP, SessionManager
from ..workspaces import Workspace


class WorkspaceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(
        min_length=1,
        max_length=64,
        description="1-64 printable characters, unique among your workspaces",
    )

    @field_validator("name")
    @classmethod
    def _printable(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        if not value.isprintable():
            raise ValueError("must contain printable characters only")
        return value


@post(
    "/api/workspaces",
    opt={"audit": "workspace.create"},
    status_code=201,
    tags=["workspaces"],
    summary="Create a workspace",
)
async def create_workspace(
    ctx: NamedDependency[RequestContext],
    quotas: NamedDependency[Quotas],
    audit: NamedDependency[Audit],
    identity: NamedDependency[Identity],
    data: Annotated[WorkspaceCreate, Body()],
) -> dict[str, Any]:
    async with quotas.transaction(ctx) as conn:
        await quotas.require(conn, identity, {"workspaces": 1})
        row = await workspaces.insert(conn, identity, data.name)
        await audit.record(
            conn,
            ctx,
            "success",
            target=row.id,
            detail={"name": data.name},
        )
    return row.public()


@get("/api/workspaces", tags=["workspaces"], summary="List your workspaces")
async def list_workspaces(
    db: NamedDependency[Database], identity: NamedDependency[Identity]
) -> list[dict[str, Any]]:
    async with db.connection() as conn:
        return await workspaces.listing(conn, identity)


@get("/api/workspaces/{workspace_id:str}", tags=["workspaces"], summary="Read a workspace")
async def read_workspace(
    sessions: NamedDependency[SessionManager],
    workspace: NamedDependency[Workspace],
    workspace_id: FromPath[str],
) -> dict[str, Any]:
    await sessions.touch(workspace_id)
    return workspace.public()


@delete(
    "/api/workspaces/{workspace_id:str}",
    opt={"audit": "workspace.delete"},
    tags=["workspaces"],
    summary="Delete a workspace with its files, chunks and session",
)
async def delete_workspace(
    ctx: NamedDependency[RequestContext],
    db: NamedDependency[Database],
    audit: NamedDependency[Audit],
    sessions: NamedDependency[SessionManager],
    identity: NamedDependency[Identity],
    workspace: NamedDependency[Workspace],
    workspace_id: FromPath[str],
) -> None:
    await sessions.stop(ctx, workspace.ref(), reason="workspace deleted")
    async with db.connection() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM workspaces WHERE id = %s AND user_id = %s", (workspace_id, identity.user)
        )
        await audit.record(conn, ctx, "success", target=workspace_id)


@post(
    "/api/workspaces/{workspace_id:str}/session",
    opt={"audit": START},
    status_code=202,
    tags=["sessions"],
    summary="Start the workspace's console (code-server)",
)
async def start_session(
    ctx: NamedDependency[RequestContext],
    sessions: NamedDependency[SessionManager],
    identity: NamedDependency[Identity],
    workspace: NamedDependency[Workspace],
    workspace_id: FromPath[str],
) -> dict[str, Any]:
    return await sessions.start(ctx, identity, workspace.ref())


@get(
    "/api/workspaces/{workspace_id:str}/session",
    tags=["sessions"],
    summary="The console's state: loading, starting, ready, error or stopped",
)
async def session_status(
    sessions: NamedDependency[SessionManager],
    workspace: NamedDependency[Workspace],
    workspace_id: FromPath[str],
) -> dict[str, Any]:
    await sessions.touch(workspace_id)
    return await sessions.status(workspace.ref())


@delete(
    "/api/workspaces/{workspace_id:str}/session",
    opt={"audit": STOP},
    tags=["sessions"],
    summary="Stop the console; the workspace's storage is kept",
)
async def stop_session(
    ctx: NamedDependency[RequestContext],
    sessions: NamedDependency[SessionManager],
    workspace: NamedDependency[Workspace],
    workspace_id: FromPath[str],
) -> Response[None]:
    await sessions.stop(ctx, workspace.ref())
    return Response(None, status_code=204)


handlers = [
    create_workspace,
    list_workspaces,
    read_workspace,
    delete_workspace,
    start_session,
    session_status,
    stop_session,
]

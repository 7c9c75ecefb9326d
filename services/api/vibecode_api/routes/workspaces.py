"""`/api/workspaces`: create, list, read, delete — and the workspace's console session."""

from __future__ import annotations

from typing import Annotated

from litestar import delete, get, post
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
from ..tokens import ACCOUNT_ONLY
from ..views import SessionView, WorkspaceSummaryView, WorkspaceView
from ..workspaces import Workspace
from .openapi import refusals

NO_WORKSPACE = "no such workspace of yours (another user's is not revealed either)"
NOT_FOUND = refusals({404: NO_WORKSPACE})

NAME_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
"""No control characters (Unicode Cc), and at least one that is not a space."""


class WorkspaceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(
        min_length=1,
        max_length=64,
        pattern=NAME_PATTERN,
        description="1-64 characters, no control characters, not blank; unique among your "
        "workspaces (surrounding spaces are trimmed)",
    )

    @field_validator("name")
    @classmethod
    def _trimmed(cls, value: str) -> str:
        return value.strip()


@post(
    "/api/workspaces",
    opt={"audit": "workspace.create", ACCOUNT_ONLY: True},
    status_code=201,
    tags=["workspaces"],
    summary="Create a workspace",
    operation_id="createWorkspace",
    responses=refusals(
        {
            403: "`quota_exceeded`: the tier's workspaces are all in use",
            409: "`conflict`: you already have a workspace of that name",
        }
    ),
)
async def create_workspace(
    ctx: NamedDependency[RequestContext],
    quotas: NamedDependency[Quotas],
    audit: NamedDependency[Audit],
    identity: NamedDependency[Identity],
    data: Annotated[WorkspaceCreate, Body()],
) -> WorkspaceView:
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


@get(
    "/api/workspaces",
    tags=["workspaces"],
    summary="List your workspaces",
    operation_id="listWorkspaces",
)
async def list_workspaces(
    db: NamedDependency[Database], identity: NamedDependency[Identity]
) -> list[WorkspaceSummaryView]:
    async with db.connection() as conn:
        return await workspaces.listing(conn, identity)


@get(
    "/api/workspaces/{workspace_id:str}",
    tags=["workspaces"],
    summary="Read a workspace",
    operation_id="readWorkspace",
    responses=NOT_FOUND,
)
async def read_workspace(
    sessions: NamedDependency[SessionManager],
    workspace: NamedDependency[Workspace],
    workspace_id: FromPath[str],
) -> WorkspaceView:
    await sessions.touch(workspace_id)
    return workspace.public()


@delete(
    "/api/workspaces/{workspace_id:str}",
    opt={"audit": "workspace.delete", ACCOUNT_ONLY: True},
    tags=["workspaces"],
    summary="Delete a workspace with its files, chunks and session",
    operation_id="deleteWorkspace",
    responses=NOT_FOUND,
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
    operation_id="startSession",
    responses=refusals(
        {
            403: "`quota_exceeded`: the tier's concurrent sessions are all running",
            404: NO_WORKSPACE,
        }
    ),
)
async def start_session(
    ctx: NamedDependency[RequestContext],
    sessions: NamedDependency[SessionManager],
    identity: NamedDependency[Identity],
    workspace: NamedDependency[Workspace],
    workspace_id: FromPath[str],
) -> SessionView:
    return await sessions.start(ctx, identity, workspace.ref())


@get(
    "/api/workspaces/{workspace_id:str}/session",
    tags=["sessions"],
    summary="The console's state: loading, starting, ready, error or stopped",
    operation_id="readSession",
    responses=NOT_FOUND,
)
async def session_status(
    sessions: NamedDependency[SessionManager],
    workspace: NamedDependency[Workspace],
    workspace_id: FromPath[str],
) -> SessionView:
    await sessions.touch(workspace_id)
    return await sessions.status(workspace.ref())


@delete(
    "/api/workspaces/{workspace_id:str}/session",
    opt={"audit": STOP},
    tags=["sessions"],
    summary="Stop the console; the workspace's storage is kept",
    operation_id="stopSession",
    responses=NOT_FOUND,
)
async def stop_session(
    ctx: NamedDependency[RequestContext],
    sessions: NamedDependency[SessionManager],
    workspace: NamedDependency[Workspace],
    workspace_id: FromPath[str],
) -> None:
    await sessions.stop(ctx, workspace.ref())


handlers = [
    create_workspace,
    list_workspaces,
    read_workspace,
    delete_workspace,
    start_session,
    session_status,
    stop_session,
]

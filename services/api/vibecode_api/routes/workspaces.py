"""`/api/workspaces`: create, list, read, delete — and the workspace's console session."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import Body, FromPath
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .. import workspaces
from ..identity import Identity

Req = Request[Any, Any, Any]


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
    request: Req,
    state: State,
    identity: NamedDependency[Identity],
    data: Annotated[WorkspaceCreate, Body()],
) -> dict[str, Any]:
    async with state.quotas.transaction(state.db, request.scope) as conn:
        await state.quotas.require(conn, request.scope, identity, {"workspaces": 1})
        row = await workspaces.insert(conn, identity, data.name)
        await state.audit.record(
            conn,
            request.scope,
            "workspace.create",
            "success",
            target=row["id"],
            detail={"name": data.name},
        )
    return workspaces.public(row)


@get("/api/workspaces", tags=["workspaces"], summary="List your workspaces")
async def list_workspaces(
    state: State, identity: NamedDependency[Identity]
) -> list[dict[str, Any]]:
    async with state.db.connection() as conn:
        return await workspaces.listing(conn, identity)


@get("/api/workspaces/{workspace_id:str}", tags=["workspaces"], summary="Read a workspace")
async def read_workspace(
    state: State, workspace: NamedDependency[dict[str, Any]], workspace_id: FromPath[str]
) -> dict[str, Any]:
    await state.sessions.touch(workspace_id)
    return workspaces.public(workspace)


@delete(
    "/api/workspaces/{workspace_id:str}",
    opt={"audit": "workspace.delete"},
    tags=["workspaces"],
    summary="Delete a workspace with its files, chunks and session",
)
async def delete_workspace(
    request: Req,
    state: State,
    identity: NamedDependency[Identity],
    workspace: NamedDependency[dict[str, Any]],
    workspace_id: FromPath[str],
) -> None:
    await state.sessions.stop(request.scope, workspaces.ref(workspace), reason="workspace deleted")
    async with state.db.connection() as conn, conn.transaction():
        await conn.execute(
            "DELETE FROM workspaces WHERE id = %s AND user_id = %s", (workspace_id, identity.user)
        )
        await state.audit.record(
            conn, request.scope, "workspace.delete", "success", target=workspace_id
        )


@post(
    "/api/workspaces/{workspace_id:str}/session",
    opt={"audit": "session.start"},
    status_code=202,
    tags=["sessions"],
    summary="Start the workspace's console (code-server)",
)
async def start_session(
    request: Req,
    state: State,
    identity: NamedDependency[Identity],
    workspace: NamedDependency[dict[str, Any]],
    workspace_id: FromPath[str],
) -> dict[str, Any]:
    result: dict[str, Any] = await state.sessions.start(
        request.scope, identity, workspaces.ref(workspace)
    )
    return result


@get(
    "/api/workspaces/{workspace_id:str}/session",
    tags=["sessions"],
    summary="The console's state: loading, starting, ready, error or stopped",
)
async def session_status(
    state: State, workspace: NamedDependency[dict[str, Any]], workspace_id: FromPath[str]
) -> dict[str, Any]:
    await state.sessions.touch(workspace_id)
    result: dict[str, Any] = await state.sessions.status(workspaces.ref(workspace))
    return result


@delete(
    "/api/workspaces/{workspace_id:str}/session",
    opt={"audit": "session.stop"},
    tags=["sessions"],
    summary="Stop the console; the workspace's storage is kept",
)
async def stop_session(
    request: Req,
    state: State,
    workspace: NamedDependency[dict[str, Any]],
    workspace_id: FromPath[str],
) -> Response[None]:
    await state.sessions.stop(request.scope, workspaces.ref(workspace))
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

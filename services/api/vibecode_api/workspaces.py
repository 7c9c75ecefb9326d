"""Workspaces: a user's named projects, each with its own namespace, files and console session.

Every query is scoped to the caller: another user's workspace is indistinguishable from one that
does not exist (404), so existence is never revealed.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row
from vibecode_core.tenancy import workspace_namespace

from .errors import ApiError
from .identity import Identity
from .provisioners import WorkspaceRef
from .views import WorkspaceSummaryView, WorkspaceView


def not_found(workspace_id: str) -> ApiError:
    return ApiError(404, "not_found", f"workspace {workspace_id!r} does not exist")


@dataclass(frozen=True, slots=True)
class Workspace:
    """A `workspaces` row, as routes, sessions and RAG receive it."""

    id: str
    user_id: str
    name: str
    namespace: str
    created_at: dt.datetime
    embedding_model: str | None
    """the model its chunks are embedded with (set by the first upload), and its dimensions"""
    embedding_dims: int | None

    def public(self) -> WorkspaceView:
        return {
            "id": self.id,
            "name": self.name,
            "namespace": self.namespace,
            "createdAt": self.created_at.isoformat(),
        }

    def ref(self) -> WorkspaceRef:
        return WorkspaceRef(id=self.id, user=self.user_id, namespace=self.namespace)


_COLUMNS = "id, user_id, name, namespace, created_at, embedding_model, embedding_dims"


def new_id() -> str:
    """Short, DNS-safe and readable in the namespace name (`user-alice-ws-3f9c0a12b4`)."""
    return secrets.token_hex(5)


async def insert(conn: psycopg.AsyncConnection[Any], identity: Identity, name: str) -> Workspace:
    for _ in range(5):  # an id collision is astronomically rare; retry rather than fail
        ws_id = new_id()
        try:
            async with conn.transaction(), conn.cursor(row_factory=class_row(Workspace)) as cur:
                await cur.execute(
                    "INSERT INTO workspaces (id, user_id, name, namespace) VALUES (%s, %s, %s, %s)"
                    f" RETURNING {_COLUMNS}",
                    (ws_id, identity.user, name, workspace_namespace(identity.user, ws_id)),
                )
                row = await cur.fetchone()
                assert row is not None
                return row
        except psycopg.errors.UniqueViolation as err:
            if "workspaces_user_id_name_key" in str(err.diag.constraint_name):
                raise ApiError(
                    409, "conflict", f"you already have a workspace named {name!r}"
                ) from None
    raise ApiError(409, "conflict", "could not allocate a workspace id; retry")


async def owned(
    conn: psycopg.AsyncConnection[Any], identity: Identity, workspace_id: str
) -> Workspace:
    """The caller's workspace, or 404 (also when it belongs to someone else, or lies outside
    the caller's workspace token)."""
    if identity.workspace_scope is not None and workspace_id != identity.workspace_scope:
        raise not_found(workspace_id)
    async with conn.cursor(row_factory=class_row(Workspace)) as cur:
        await cur.execute(
            f"SELECT {_COLUMNS} FROM workspaces WHERE id = %s AND user_id = %s",
            (workspace_id, identity.user),
        )
        row = await cur.fetchone()
    if row is None:
        raise not_found(workspace_id)
    return row


async def listing(
    conn: psycopg.AsyncConnection[Any], identity: Identity
) -> list[WorkspaceSummaryView]:
    rows = await (
        await conn.execute(
            "SELECT w.*, count(f.id) AS files, coalesce(sum(f.bytes), 0) AS bytes,"
            " coalesce(sum(f.chunk_count), 0) AS chunks, s.state AS session"
            " FROM workspaces w LEFT JOIN files f ON f.workspace_id = w.id"
            " LEFT JOIN sessions s ON s.workspace_id = w.id"
            " WHERE w.user_id = %s AND (%s::text IS NULL OR w.id = %s)"
            " GROUP BY w.id, s.state ORDER BY w.created_at, w.id",
            (identity.user, identity.workspace_scope, identity.workspace_scope),
        )
    ).fetchall()
    return [
        {
            "id": r["id"],
            "name": r["name"],
            "namespace": r["namespace"],
            "createdAt": r["created_at"].isoformat(),
            "files": r["files"],
            "bytes": int(r["bytes"]),
            "chunks": int(r["chunks"]),
            "session": r["session"] or "stopped",
        }
        for r in rows
    ]

"""Workspaces: a user's named projects, each with its own namespace, files and console session.

Every query is scoped to the caller: another user's workspace is indistinguishable from one that
does not exist (404), so existence is never revealed.
"""

from __future__ import annotations

import secrets
from typing import Any

import psycopg
from vibecode_core.tenancy import workspace_namespace

from .errors import ApiError
from .identity import Identity
from .provisioners import WorkspaceRef


def not_found(workspace_id: str) -> ApiError:
    return ApiError(404, "not_found", f"workspace {workspace_id!r} does not exist")


def public(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "namespace": row["namespace"],
        "createdAt": row["created_at"].isoformat(),
    }


def ref(row: dict[str, Any]) -> WorkspaceRef:
    return WorkspaceRef(id=row["id"], user=row["user_id"], namespace=row["namespace"])


def new_id() -> str:
    """Short, DNS-safe and readable in the namespace name (`user-alice-ws-3f9c0a12b4`)."""
    return secrets.token_hex(5)


async def insert(
    conn: psycopg.AsyncConnection[Any], identity: Identity, name: str
) -> dict[str, Any]:
    for _ in range(5):  # an id collision is astronomically rare; retry rather than fail
        ws_id = new_id()
        try:
            async with conn.transaction():
                row: dict[str, Any] | None = await (
                    await conn.execute(
                        "INSERT INTO workspaces (id, user_id, name, namespace) VALUES (%s, %s, %s, %s)"
                        " RETURNING *",
                        (ws_id, identity.user, name, workspace_namespace(identity.user, ws_id)),
                    )
                ).fetchone()
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
) -> dict[str, Any]:
    """The caller's workspace, or 404 (also when it belongs to someone else)."""
    row: dict[str, Any] | None = await (
        await conn.execute(
            "SELECT * FROM workspaces WHERE id = %s AND user_id = %s", (workspace_id, identity.user)
        )
    ).fetchone()
    if row is None:
        raise not_found(workspace_id)
    return row


async def listing(conn: psycopg.AsyncConnection[Any], identity: Identity) -> list[dict[str, Any]]:
    rows = await (
        await conn.execute(
            "SELECT w.*, count(f.id) AS files, coalesce(sum(f.bytes), 0) AS bytes,"
            " coalesce(sum(f.chunk_count), 0) AS chunks, s.state AS session"
            " FROM workspaces w LEFT JOIN files f ON f.workspace_id = w.id"
            " LEFT JOIN sessions s ON s.workspace_id = w.id"
            " WHERE w.user_id = %s GROUP BY w.id, s.state ORDER BY w.created_at, w.id",
            (identity.user,),
        )
    ).fetchall()
    return [
        {
            **public(r),
            "files": r["files"],
            "bytes": int(r["bytes"]),
            "chunks": int(r["chunks"]),
            "session": r["session"] or "stopped",
        }
        for r in rows
    ]

"""Handlers that exist only in tests: they exercise shared mechanisms before real routes do."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from vibecode_api.audit import Audit
from vibecode_api.context import RequestContext
from vibecode_api.db import Database


@post("/test/notes", opt={"audit": "note.create"}, status_code=201)
async def create_note(
    ctx: NamedDependency[RequestContext],
    db: NamedDependency[Database],
    audit: NamedDependency[Audit],
    data: JSONBody[dict[str, str]],
) -> dict:
    """A trivial audited write, the way every real write endpoint records itself."""
    async with db.connection() as conn, conn.transaction():
        await audit.record(conn, ctx, "success", target=data.get("title", ""))
    return {"title": data.get("title", "")}


@get("/test/audit")
async def list_audit(db: NamedDependency[Database]) -> list[dict[str, Any]]:
    async with db.connection() as conn:
        cur = await conn.execute(
            "SELECT actor, action, target, outcome, request_id FROM audit_events ORDER BY id"
        )
        return await cur.fetchall()


@get("/test/boom")
async def boom(secret: Annotated[str, QueryParameter()] = "") -> None:
    raise RuntimeError(f"exploded while holding {secret}")


HANDLERS = (create_note, list_audit, boom)

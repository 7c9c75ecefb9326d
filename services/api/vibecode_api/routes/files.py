"""Files and search in a workspace: upload (ingest), list, delete, and hybrid search."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Request, Response, delete, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.openapi import ResponseSpec
from litestar.params import Body, FromPath
from pydantic import BaseModel, ConfigDict, Field

from .. import workspaces
from ..audit import Audit
from ..context import RequestContext
from ..db import Database
from ..errors import ApiError
from ..identity import Identity
from ..rag.search import Hit
from ..rag.service import Rag
from ..rag.store import Upload
from ..rate_limit import OVERLAP, alongside_verdict
from ..sessions import SessionManager
from ..views import FileView, IngestView, SearchView
from ..workspaces import Workspace
from .openapi import refusals
from .types import INTEGRAL
from .workspaces import NO_WORKSPACE, NOT_FOUND

Req = Request[Any, Any, Any]


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    query: str = Field(min_length=1, max_length=2000, description="1-2000 characters")
    topK: Annotated[int, Field(ge=1, le=50), INTEGRAL] = Field(5, description="1-50 results")
    threshold: float | None = Field(None, ge=0, le=1, description="minimum similarity, 0-1")


@dataclass
class UploadForm:
    """The multipart form of an upload."""

    file: UploadFile
    path: str = ""
    """Where the file goes in the workspace (empty: the upload's file name). A form field is
    text, never null: hence "" rather than None."""


MISMATCH = "`embedding_model_mismatch`: the workspace was indexed with another embedding model"


def file_view(row: dict[str, Any]) -> FileView:
    return {
        "id": row["id"],
        "path": row["path"],
        "bytes": row["bytes"],
        "sha256": row["sha256"],
        "chunks": row["chunk_count"],
        "status": row["status"],
        "error": row["error"],
        "createdAt": row["created_at"].isoformat(),
        "updatedAt": row["updated_at"].isoformat(),
    }


async def file_listing(conn: Any, workspace_id: str) -> list[FileView]:
    """A workspace's files by path (the caller has checked that the workspace is theirs)."""
    rows = await (
        await conn.execute(
            "SELECT * FROM files WHERE workspace_id = %s ORDER BY path", (workspace_id,)
        )
    ).fetchall()
    return [file_view(r) for r in rows]


@post(
    "/api/workspaces/{workspace_id:str}/files",
    opt={"audit": "file.upsert"},
    tags=["files"],
    summary="Upload a text file (multipart field `file`, optional `path`)",
    operation_id="uploadFile",
    request_max_body_size=64 * 2**20,
    responses={
        200: ResponseSpec(
            IngestView, description="an existing path, updated", generate_examples=False
        ),
        **refusals(
            {
                403: "`quota_exceeded`: files per workspace, storage or vector chunks",
                404: NO_WORKSPACE,
                409: MISMATCH,
                413: "`file_too_large`: over the tier's file size (or the 64 MiB request limit)",
                415: "`unsupported_media_type`: binary or not UTF-8",
                422: "`invalid_path`, `empty_file` or `malware_detected` (nothing is stored)",
                503: "`scanner_unavailable`: uploads are scanned and the scanner is away",
            }
        ),
    },
)
async def upload_file(
    ctx: NamedDependency[RequestContext],
    db: NamedDependency[Database],
    rag: NamedDependency[Rag],
    sessions: NamedDependency[SessionManager],
    identity: NamedDependency[Identity],
    workspace_id: FromPath[str],
    data: Annotated[UploadForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Response[IngestView]:
    async with db.connection() as conn:
        ws = await workspaces.owned(conn, identity, workspace_id)
    content = await data.file.read()
    result, created = await rag.store.ingest(
        ctx, identity, ws, Upload(data.path or data.file.filename or "", content)
    )
    await sessions.touch(workspace_id)
    return Response(result, status_code=201 if created else 200)


@get(
    "/api/workspaces/{workspace_id:str}/files",
    tags=["files"],
    summary="Files with status (pending, indexed, failed), size and chunk count",
    operation_id="listFiles",
    responses=NOT_FOUND,
)
async def list_files(
    db: NamedDependency[Database],
    workspace: NamedDependency[Workspace],
    workspace_id: FromPath[str],
) -> list[FileView]:
    async with db.connection() as conn:
        return await file_listing(conn, workspace_id)


@delete(
    "/api/workspaces/{workspace_id:str}/files/{file_id:str}",
    opt={"audit": "file.delete"},
    tags=["files"],
    summary="Delete a file and its chunks",
    operation_id="deleteFile",
    responses=refusals({404: "no such workspace of yours, or no such file in it"}),
)
async def delete_file(
    ctx: NamedDependency[RequestContext],
    db: NamedDependency[Database],
    audit: NamedDependency[Audit],
    identity: NamedDependency[Identity],
    workspace_id: FromPath[str],
    file_id: FromPath[str],
) -> None:
    async with db.connection() as conn, conn.transaction():
        await workspaces.owned(conn, identity, workspace_id)
        row = await (
            await conn.execute(
                "DELETE FROM files WHERE id = %s AND workspace_id = %s RETURNING path",
                (file_id, workspace_id),
            )
        ).fetchone()
        if row is None:
            raise ApiError(404, "not_found", f"file {file_id!r} does not exist")
        await audit.record(conn, ctx, "success", target=file_id, detail={"path": row["path"]})


@post(
    "/api/workspaces/{workspace_id:str}/search",
    status_code=200,
    opt=OVERLAP,
    tags=["search"],
    summary="Hybrid (vector + full-text) search in the workspace's files",
    operation_id="searchWorkspace",
    responses=refusals({404: NO_WORKSPACE, 409: MISMATCH}),
)
async def search(
    request: Req,
    db: NamedDependency[Database],
    rag: NamedDependency[Rag],
    sessions: NamedDependency[SessionManager],
    identity: NamedDependency[Identity],
    workspace_id: FromPath[str],
    data: Annotated[SearchRequest, Body()],
) -> SearchView:
    searcher = rag.searcher

    async def find() -> tuple[list[Hit], float]:
        """Reads only (and the workspace's activity time, which a refused call, the user's
        traffic all the same, may set too), so it runs alongside the hourly-limit verdict."""
        embedding = searcher.embed_soon(data.query)  # while we check the workspace is theirs
        try:
            async with db.connection() as conn:
                ws = await workspaces.owned(conn, identity, workspace_id)
        except BaseException:  # a 404, or a refusal cancelling this step: not needed after all
            embedding.cancel()
            # Ended before the answer leaves: nothing of a refused call runs on after it.
            await asyncio.gather(embedding, return_exceptions=True)
            raise
        touched = asyncio.ensure_future(sessions.touch(workspace_id))
        try:
            return await searcher.search(ws, data.query, data.topK, data.threshold, embedding)
        finally:
            await touched

    hits, took = await alongside_verdict(request.scope, find)
    return {"results": [h.public() for h in hits], "tookMs": round(took, 2)}


handlers = [upload_file, list_files, delete_file, search]

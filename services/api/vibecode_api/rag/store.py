"""Ingestion: upload → text → chunks → embeddings → pgvector, one transaction per document.

Nothing is half-written: quotas are checked before any embedding work (and again, under the
user's lock, in the transaction that writes), and the file row, its chunks, the cache entries
and the audit row commit together or not at all. Re-uploading a path compares chunk hashes:
unchanged chunks keep their rows and embeddings (their lines may move), only new text is
embedded, and text any model has embedded before comes from the embedding cache. New rows go in
by binary COPY. In `provider` mode an embedding failure does not lose the upload: the chunks are
stored without vectors (`pending`) and a background worker retries them.
"""

from __future__ import annotations

import hashlib
import posixpath
import secrets
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import anyio
import numpy as np
import psycopg
from pgvector.psycopg import register_vector_async
from vibecode_core import metric_names as names

from .. import telemetry
from ..audit import Audit
from ..context import RequestContext
from ..db import Database
from ..errors import ApiError
from ..identity import Identity
from ..logs import get_logger
from ..quotas import Quotas
from ..scanner import Scanner, ScannerUnavailable
from ..views import FileStatus, IngestView
from ..workspaces import Workspace
from .chunking import Chunk, chunk_text
from .embedder import Embedder, EmbeddingFailed, Tokens

log = get_logger(__name__)

MAX_PATH = 512
COPY_CHUNKS = (
    "COPY chunks (file_id, workspace_id, user_id, ordinal, start_line, end_line, tokens, sha256,"
    " text, dims, embedding) FROM STDIN WITH (FORMAT BINARY)"
)
COPY_TYPES = [
    "text",
    "text",
    "text",
    "int4",
    "int4",
    "int4",
    "int4",
    "text",
    "text",
    "int4",
    "vector",
]
"""Chunk rows go in by binary COPY (the benchmarks use the same statement)."""
MAX_ATTEMPTS = 20


@dataclass
class Upload:
    path: str
    data: bytes


def normalise_path(raw: str) -> str:
    """A relative POSIX path inside the workspace, or 422 saying what is wrong."""
    path = raw.replace("\\", "/").strip()
    if not path:
        raise ApiError(422, "invalid_path", "path: must not be empty")
    if len(path) > MAX_PATH:
        raise ApiError(422, "invalid_path", f"path: at most {MAX_PATH} characters")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        raise ApiError(422, "invalid_path", "path: must be relative to the workspace")
    if any(part == ".." for part in path.split("/")):
        raise ApiError(422, "invalid_path", "path: must not contain '..'")
    if any(ord(c) < 32 for c in path):
        raise ApiError(422, "invalid_path", "path: must not contain control characters")
    normal = posixpath.normpath(path)
    if normal in (".", ""):
        raise ApiError(422, "invalid_path", "path: must name a file")
    return normal


def decode_text(data: bytes) -> str:
    """UTF-8 text, or 415 (binary) / 422 (empty)."""
    if not data.strip():
        raise ApiError(422, "empty_file", "the file is empty; upload a non-empty text file")
    if b"\x00" in data[:8192]:
        raise ApiError(
            415,
            "unsupported_media_type",
            "binary content: only text and source files can be indexed",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(
            415,
            "unsupported_media_type",
            "not UTF-8 text: only text and source files can be indexed",
        ) from None
    controls = sum(1 for c in text[:8192] if ord(c) < 32 and c not in "\n\r\t\f\v")
    if controls > max(8, len(text[:8192]) // 100):
        raise ApiError(
            415,
            "unsupported_media_type",
            "binary content: only text and source files can be indexed",
        )
    return text.replace("\r\n", "\n")


async def with_vectors(conn: psycopg.AsyncConnection[Any]) -> psycopg.AsyncConnection[Any]:
    """Register pgvector's adapters on a connection, once."""
    if not getattr(conn, "_vibe_vectors", False):
        await register_vector_async(conn)
        conn._vibe_vectors = True  # type: ignore[attr-defined]
    return conn


def _mismatch(model: str, dims: int, embedder: Embedder) -> ApiError:
    return ApiError(
        409,
        "embedding_model_mismatch",
        f"this workspace is indexed with {model} ({dims} dims) "
        f"but the API now embeds with {embedder.model} ({embedder.dims} dims); "
        "mixing them would make search meaningless: use a new workspace or the original "
        "VIBE_EMBEDDINGS setting",
    )


class Store:
    def __init__(
        self,
        db: Database,
        quotas: Quotas,
        embedder: Embedder,
        tokens: Tokens,
        audit: Audit,
        scanner: Scanner | None = None,
        fail_open: bool = False,
    ) -> None:
        self.db = db
        self.quotas = quotas
        self.embedder = embedder
        self.tokens = tokens
        self.audit = audit
        self.scanner = scanner
        self.fail_open = fail_open

    async def _scan(self, ctx: RequestContext, path: str, data: bytes) -> None:
        """Refuse an infected upload (422, audited) or, failing closed, an unscanned one (503)."""
        if self.scanner is None:
            return
        try:
            signature = await self.scanner.scan(data)
        except ScannerUnavailable as err:
            if self.fail_open:
                log.warning("upload_not_scanned", path=path, error=str(err))
                return
            raise ApiError(
                503,
                "scanner_unavailable",
                f"{err}; uploads are scanned before they are stored, nothing was stored: "
                "try again shortly",
                headers={"Retry-After": "10"},
            ) from None
        if signature is not None:
            await self.audit.record_alone(
                ctx, "refused_malware", target=path, detail={"signature": signature}
            )
            raise ApiError(
                422,
                "malware_detected",
                f"{path}: clamd found {signature}; nothing was stored",
                signature=signature,
            )

    async def ingest(
        self, ctx: RequestContext, identity: Identity, ws: Workspace, upload: Upload
    ) -> tuple[IngestView, bool]:
        started = time.perf_counter()
        path = normalise_path(upload.path)
        data = upload.data
        limit = identity.tier.max_file_size
        if len(data) > limit:
            # Also refused (and audited) by the quota mechanism, before any work.
            async with self.quotas.transaction(ctx) as conn:
                await self.quotas.require(conn, identity, {"fileSize": len(data)})
        await self._scan(ctx, path, data)
        text = decode_text(data)
        if ws.embedding_model and ws.embedding_model != self.embedder.model:
            raise _mismatch(ws.embedding_model, ws.embedding_dims or 0, self.embedder)
        chunks = await anyio.to_thread.run_sync(chunk_text, text, self.tokens)

        # 1. Refuse early, before any embedding work, against what is committed now.
        async with self.quotas.transaction(ctx) as conn:
            old = await self._file(conn, ws.id, path)
            await self.quotas.require(
                conn, identity, self._needs(data, chunks, old), workspace=ws.id
            )
            known = await self._known_hashes(conn, old, chunks)

        # 2. Embed only text neither this file nor the cache has.
        missing = sorted({c.sha256 for c in chunks} - known)
        by_hash = {c.sha256: c.text for c in chunks}
        vectors: dict[str, np.ndarray] = {}
        pending = False
        if missing:
            try:
                embedded = await self.embedder.embed([by_hash[h] for h in missing])
                vectors = dict(zip(missing, embedded, strict=True))
            except EmbeddingFailed as err:
                log.warning("embedding_failed_queued", workspace=ws.id, path=path, error=str(err))
                pending = True

        # 3. One transaction: re-check under the lock, reconcile chunks, record, audit.
        async with self.quotas.transaction(ctx) as conn:
            await with_vectors(conn)
            old = await self._file(conn, ws.id, path, lock=True)
            await self.quotas.require(
                conn, identity, self._needs(data, chunks, old), workspace=ws.id
            )
            await self._claim_model(conn, ws)
            result = await self._write(
                conn, identity, ws, path, data, chunks, old, vectors, pending
            )
            await self.audit.record(
                conn,
                ctx,
                "success",
                target=result["id"],
                detail={
                    "path": path,
                    "bytes": len(data),
                    "added": result["chunksAdded"],
                    "removed": result["chunksRemoved"],
                },
            )
        telemetry.seconds(names.RAG_INGEST_TIME, time.perf_counter() - started)
        telemetry.count(names.RAG_INGEST_CHUNKS, result["chunksAdded"])
        return result, old is None

    @staticmethod
    def _needs(data: bytes, chunks: list[Chunk], old: dict[str, Any] | None) -> dict[str, int]:
        return {
            "fileSize": len(data),
            "filesPerWorkspace": 0 if old else 1,
            "storageBytes": len(data) - (old["bytes"] if old else 0),
            "vectorChunks": len(chunks) - (old["chunk_count"] if old else 0),
        }

    async def _file(
        self, conn: Any, workspace_id: str, path: str, *, lock: bool = False
    ) -> dict[str, Any] | None:
        sql = "SELECT * FROM files WHERE workspace_id = %s AND path = %s"
        row: dict[str, Any] | None = await (
            await conn.execute(sql + (" FOR UPDATE" if lock else ""), (workspace_id, path))
        ).fetchone()
        return row

    async def _known_hashes(
        self, conn: Any, old: dict[str, Any] | None, chunks: list[Chunk]
    ) -> set[str]:
        hashes = list({c.sha256 for c in chunks})
        known: set[str] = set()
        if old is not None:
            rows = await (
                await conn.execute(
                    "SELECT DISTINCT sha256 FROM chunks WHERE file_id = %s AND sha256 = ANY(%s)"
                    " AND embedding IS NOT NULL",
                    (old["id"], hashes),
                )
            ).fetchall()
            known |= {r["sha256"] for r in rows}
        rows = await (
            await conn.execute(
                "SELECT sha256 FROM embedding_cache WHERE model = %s AND sha256 = ANY(%s)",
                (self.embedder.model, hashes),
            )
        ).fetchall()
        return known | {r["sha256"] for r in rows}

    async def _claim_model(self, conn: Any, ws: Workspace) -> None:
        row = await (
            await conn.execute(
                "UPDATE workspaces SET embedding_model = coalesce(embedding_model, %s),"
                " embedding_dims = coalesce(embedding_dims, %s) WHERE id = %s"
                " RETURNING embedding_model, embedding_dims",
                (self.embedder.model, self.embedder.dims, ws.id),
            )
        ).fetchone()
        if row["embedding_model"] != self.embedder.model:
            raise _mismatch(row["embedding_model"], row["embedding_dims"], self.embedder)

    async def _write(
        self,
        conn: Any,
        identity: Identity,
        ws: Workspace,
        path: str,
        data: bytes,
        chunks: list[Chunk],
        old: dict[str, Any] | None,
        vectors: dict[str, np.ndarray],
        pending: bool,
    ) -> IngestView:
        file_id = old["id"] if old else f"f_{secrets.token_hex(8)}"
        digest = hashlib.sha256(data).hexdigest()
        if old is None:
            await conn.execute(
                "INSERT INTO files (id, workspace_id, user_id, path, bytes, sha256, chunk_count,"
                " status) VALUES (%s, %s, %s, %s, %s, %s, 0, 'pending')",
                (file_id, ws.id, identity.user, path, len(data), digest),
            )
        # Old chunks by hash; each new chunk with a known hash takes one of them over.
        previous: dict[str, list[int]] = defaultdict(list)
        for r in await (
            await conn.execute(
                "SELECT id, sha256 FROM chunks WHERE file_id = %s ORDER BY ordinal", (file_id,)
            )
        ).fetchall():
            previous[r["sha256"]].append(r["id"])
        kept: list[tuple[int, Chunk]] = []
        added: list[Chunk] = []
        for c in chunks:
            if previous.get(c.sha256):
                kept.append((previous[c.sha256].pop(0), c))
            else:
                added.append(c)
        removed = [i for ids in previous.values() for i in ids]
        if removed:
            await conn.execute("DELETE FROM chunks WHERE id = ANY(%s)", (removed,))
        if kept:
            async with conn.cursor() as cur:
                await cur.executemany(
                    "UPDATE chunks SET ordinal = %s, start_line = %s, end_line = %s WHERE id = %s",
                    [(c.ordinal, c.start_line, c.end_line, i) for i, c in kept],
                )
        cached = await self._cached(conn, [c.sha256 for c in added if c.sha256 not in vectors])
        rows_pending = False
        async with (
            conn.cursor() as cur,
            cur.copy(COPY_CHUNKS) as copy,
        ):
            copy.set_types(COPY_TYPES)
            for c in added:
                vector = vectors.get(c.sha256)
                if vector is None:
                    vector = cached.get(c.sha256)
                rows_pending |= vector is None
                await copy.write_row(
                    (
                        file_id,
                        ws.id,
                        identity.user,
                        c.ordinal,
                        c.start_line,
                        c.end_line,
                        c.tokens,
                        c.sha256,
                        c.text,
                        self.embedder.dims,
                        vector,
                    )
                )
        if vectors:
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO embedding_cache (model, sha256, embedding) VALUES (%s, %s, %s)"
                    " ON CONFLICT DO NOTHING",
                    [(self.embedder.model, h, v) for h, v in vectors.items()],
                )
        status: FileStatus = "pending" if (pending and rows_pending) else "indexed"
        await conn.execute(
            "UPDATE files SET bytes = %s, sha256 = %s, chunk_count = %s, status = %s,"
            " error = NULL, attempts = 0, updated_at = now() WHERE id = %s",
            (len(data), digest, len(chunks), status, file_id),
        )
        return {
            "id": file_id,
            "path": path,
            "bytes": len(data),
            "sha256": digest,
            "chunks": len(chunks),
            "chunksAdded": len(added),
            "chunksRemoved": len(removed),
            "chunksKept": len(kept),
            "status": status,
        }

    async def _cached(self, conn: Any, hashes: list[str]) -> dict[str, np.ndarray]:
        if not hashes:
            return {}
        rows = await (
            await conn.execute(
                "SELECT sha256, embedding FROM embedding_cache WHERE model = %s AND sha256 = ANY(%s)",
                (self.embedder.model, hashes),
            )
        ).fetchall()
        return {r["sha256"]: r["embedding"] for r in rows}

    # -- queued writes -----------------------------------------------------------------------------
    async def embed_pending(self, batch: int = 256) -> int:
        """Embed chunks stored without vectors; returns how many were filled."""
        async with self.db.connection() as conn:
            await with_vectors(conn)
            rows = await (
                await conn.execute(
                    "SELECT c.id, c.sha256, c.text, c.file_id FROM chunks c"
                    " JOIN workspaces w ON w.id = c.workspace_id"
                    " WHERE c.embedding IS NULL AND w.embedding_model = %s ORDER BY c.id LIMIT %s",
                    (self.embedder.model, batch),
                )
            ).fetchall()
        if not rows:
            return 0
        files = sorted({r["file_id"] for r in rows})
        try:
            vectors = await self.embedder.embed([r["text"] for r in rows])
        except EmbeddingFailed as err:
            async with self.db.connection() as conn:
                await conn.execute(
                    "UPDATE files SET attempts = attempts + 1, error = %s, status = CASE WHEN"
                    " attempts + 1 >= %s THEN 'failed' ELSE status END WHERE id = ANY(%s)",
                    (str(err)[:500], MAX_ATTEMPTS, files),
                )
            return 0
        async with self.db.connection() as conn, conn.transaction():
            await with_vectors(conn)
            async with conn.cursor() as cur:
                await cur.executemany(
                    "UPDATE chunks SET embedding = %s WHERE id = %s",
                    [(v, r["id"]) for v, r in zip(vectors, rows, strict=True)],
                )
                await cur.executemany(
                    "INSERT INTO embedding_cache (model, sha256, embedding) VALUES (%s, %s, %s)"
                    " ON CONFLICT DO NOTHING",
                    [
                        (self.embedder.model, r["sha256"], v)
                        for v, r in zip(vectors, rows, strict=True)
                    ],
                )
            await conn.execute(
                "UPDATE files f SET status = 'indexed', error = NULL WHERE f.id = ANY(%s)"
                " AND NOT EXISTS (SELECT 1 FROM chunks c WHERE c.file_id = f.id"
                " AND c.embedding IS NULL)",
                (files,),
            )
        return len(rows)

    async def run_pending(self, interval: float) -> None:
        """The background worker for queued writes."""
        while True:
            try:
                while await self.embed_pending():
                    pass
            except Exception as err:  # the worker must outlive any one failure
                log.warning("pending_embeddings_failed", error=type(err).__name__)
            await anyio.sleep(interval)

"""Hybrid search within one workspace, and the cited context chat puts in its prompt.

The query is embedded; an HNSW top-k restricted to the workspace (iterative index scans on, so a
selective filter never starves the result) is fused with PostgreSQL full-text ranking by
reciprocal rank fusion; results under the similarity threshold are dropped unless the words
themselves matched. `score` is the cosine similarity.

Threshold defaults: 0.25 for the local MiniLM, 0.7 (the seeds' number) for provider embeddings.
MiniLM's cosines are lower than OpenAI's: on the labelled test corpus the right file scored
0.3-0.7 and unrelated text mostly below 0.2, so 0.7 would discard nearly every relevant passage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from vibecode_platform import telemetry as names

from .. import telemetry
from .embedder import Embedder, Tokens
from .store import with_vectors

RRF_K = 60
EF_SEARCH = 100
"""HNSW candidate list per search: recall@10 was 0.92 at pgvector's default of 40 on 100k
clustered chunks (docs/benchmarks.md); 100 costs a little latency for the rest."""
LOCAL_THRESHOLD = 0.25
PROVIDER_THRESHOLD = 0.7


@dataclass
class Hit:
    chunk_id: int
    file_id: str
    path: str
    start_line: int
    end_line: int
    score: float
    text: str
    tokens: int
    lexical: bool

    def public(self) -> dict[str, Any]:
        return {
            "fileId": self.file_id,
            "path": self.path,
            "startLine": self.start_line,
            "endLine": self.end_line,
            "score": round(self.score, 4),
            "text": self.text,
        }


class Searcher:
    def __init__(
        self, db: Any, embedder: Embedder, tokens: Tokens, threshold: float | None
    ) -> None:
        self.db = db
        self.embedder = embedder
        self.tokens = tokens
        self.threshold = (
            threshold
            if threshold is not None
            else (LOCAL_THRESHOLD if embedder.dims == 384 else PROVIDER_THRESHOLD)
        )

    async def search(
        self, ws: dict[str, Any], query: str, top_k: int = 5, threshold: float | None = None
    ) -> tuple[list[Hit], float]:
        started = time.perf_counter()
        dims = ws["embedding_dims"]
        if dims is None:  # nothing indexed yet
            return [], (time.perf_counter() - started) * 1000
        if dims != self.embedder.dims:
            return [], (time.perf_counter() - started) * 1000
        vector = (await self.embedder.embed([query]))[0]
        hits = await self._hybrid(ws["id"], int(dims), vector, query, top_k)
        floor = self.threshold if threshold is None else threshold
        kept = [h for h in hits if h.score >= floor or h.lexical][:top_k]
        elapsed = time.perf_counter() - started
        telemetry.seconds(names.RAG_SEARCH_TIME, elapsed)
        return kept, elapsed * 1000

    async def _hybrid(
        self, workspace_id: str, dims: int, vector: np.ndarray, query: str, top_k: int
    ) -> list[Hit]:
        pool = max(20, top_k * 4)
        cast = f"vector({dims})"  # dims comes from our own table: 384 or 1536
        distance = f"embedding::{cast} <=> %(q)s::{cast}"
        async with self.db.connection() as conn, conn.transaction():
            await with_vectors(conn)
            await conn.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
            await conn.execute(f"SET LOCAL hnsw.ef_search = {max(EF_SEARCH, pool)}")
            params = {"ws": workspace_id, "dims": dims, "q": vector, "text": query, "n": pool}
            semantic = await (
                await conn.execute(
                    # dims as a literal: the planner must see `dims = 384` to use the partial index
                    f"SELECT id FROM chunks WHERE workspace_id = %(ws)s AND dims = {dims}"
                    f" AND embedding IS NOT NULL ORDER BY {distance} LIMIT %(n)s",
                    params,
                )
            ).fetchall()
            lexical = await (
                await conn.execute(
                    "SELECT id FROM chunks, websearch_to_tsquery('english', %(text)s) q"
                    " WHERE workspace_id = %(ws)s AND tsv @@ q"
                    " ORDER BY ts_rank_cd(tsv, q) DESC LIMIT %(n)s",
                    params,
                )
            ).fetchall()
            fused: dict[int, float] = {}
            for ranking in (semantic, lexical):
                for rank, row in enumerate(ranking):
                    fused[row["id"]] = fused.get(row["id"], 0.0) + 1 / (RRF_K + rank + 1)
            if not fused:
                return []
            rows = await (
                await conn.execute(
                    f"SELECT c.id, c.file_id, f.path, c.start_line, c.end_line, c.text, c.tokens,"
                    f" CASE WHEN c.embedding IS NULL THEN 0 ELSE 1 - ({distance}) END AS score"
                    f" FROM chunks c JOIN files f ON f.id = c.file_id"
                    f" WHERE c.id = ANY(%(ids)s) AND c.workspace_id = %(ws)s",
                    {**params, "ids": list(fused)},
                )
            ).fetchall()
        words = {row["id"] for row in lexical}
        hits = [
            Hit(
                r["id"],
                r["file_id"],
                r["path"],
                r["start_line"],
                r["end_line"],
                float(r["score"]),
                r["text"],
                r["tokens"],
                r["id"] in words,
            )
            for r in rows
        ]
        hits.sort(key=lambda h: fused[h.chunk_id], reverse=True)
        return hits

    def within_budget(self, hits: list[Hit], budget: int) -> list[Hit]:
        """The best hits whose text fits the chat's context token budget."""
        chosen, used = [], 0
        for hit in hits:
            if used + hit.tokens > budget:
                continue
            chosen.append(hit)
            used += hit.tokens
        return chosen

"""Hybrid search within one workspace, and the cited context chat puts in its prompt.

The query is embedded; an HNSW top-k restricted to the workspace (iterative index scans on, so a
selective filter never starves the result) and PostgreSQL full-text ranking (over a bounded
candidate set) run concurrently and are fused by reciprocal rank fusion; results under the
similarity threshold are dropped unless the words
themselves matched. `score` is the cosine similarity.

Threshold defaults: 0.25 for the local MiniLM, 0.7 (the seeds' number) for provider embeddings.
MiniLM's cosines are lower than OpenAI's: on the labelled test corpus the right file scored
0.3-0.7 and unrelated text mostly below 0.2, so 0.7 would discard nearly every relevant passage.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import psycopg
from vibecode_core import metric_names as names

from .. import tasks, telemetry
from ..errors import DatabaseUnavailable
from ..views import HitView
from ..workspaces import Workspace
from .embedder import Embedder, Tokens
from .store import with_vectors

RRF_K = 60
EF_SEARCH = 100
"""HNSW candidate list per search: recall@10 was 0.92 at pgvector's default of 40 on 100k
clustered chunks (docs/benchmarks.md); 100 costs a little latency for the rest."""
SESSION_OPTIONS = f"-c hnsw.ef_search={EF_SEARCH} -c hnsw.iterative_scan=relaxed_order"
"""Every pooled session searches this way (libpq `options`): no SET round trips per search.
Iterative scans keep a selective workspace filter from starving the result; with them a LIMIT
above ef_search is still filled."""
LEXICAL_CANDIDATES = 200
"""Full-text matches ranked per search, at most. Ranking is per matching row (its tsvector is
read back from the heap, about one page per row), and a query of common words matches most of a
large workspace: 70,000 of 100,000 chunks took 0.35-1.4 s to rank. 500 kept the full-text query
at p95 ~8 ms on the 100k bench corpus, 200 at ~3-4.6 ms, and search end to end at p95 25.8 vs
23.1 ms (three alternating runs of 300 queries each): the full-text side runs beside the query's
embedding on 2 cores, so its tail is the search's. A query whose words match more than 200 chunks
of one workspace carries little lexical signal; the semantic side still ranks the whole
workspace."""
COMMON_WORD_ROWS = 10_000
"""Default of `VIBE_SEARCH_COMMON_WORD_ROWS`. A query word found in more chunks than this (in the
whole table: the GIN index is shared) is left out of the full-text match, as Elasticsearch's
`cutoff_frequency` did: it selects almost nothing, and its posting list is what full-text search
pays for (~3 ms per 10,000 chunks here; four such words in one query took 50 ms on the 100k
bench corpus). The word still counts on the semantic side; a query made only of such words has
no full-text side."""
COMMON_REFRESH_SECONDS = 30.0
"""How long one reading of the common words is reused (it is one cheap query): they are PostgreSQL's
own statistics (`pg_stats.most_common_elems` of `chunks.tsv`), renewed by autovacuum's ANALYZE
after a table grows by a tenth."""
COMMON_SQL = (
    "SELECT e.lexeme FROM pg_stats s, pg_class t,"
    " unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) AS e(lexeme, freq)"
    " WHERE s.schemaname = current_schema() AND s.tablename = 'chunks' AND s.attname = 'tsv'"
    " AND t.oid = 'chunks'::regclass AND e.freq * t.reltuples > %(rows)s"
    r" AND strpos(e.lexeme, '''') = 0 AND strpos(e.lexeme, '\') = 0"  # quoted below
)
LOCAL_THRESHOLD = 0.25
PROVIDER_THRESHOLD = 0.7


def _distance(dims: int, kind: str = "vector") -> str:
    # dims comes from our own table (384 or 1536) and is a literal so the planner sees
    # `dims = 384` and uses that partial HNSW index
    return f"embedding::{kind}({dims}) <=> %(q)s::{kind}({dims})"


INDEXED = "halfvec"
"""What the HNSW indexes hold (migration 0005): half-precision copies, half the bytes to walk.
They give the order; scores come from the full-precision vectors."""


def _semantic_sql(dims: int) -> str:
    """The nearest chunks by HNSW, as whole rows (the CTE keeps the index's ordered scan)."""
    return (
        f"WITH s AS (SELECT id, file_id, start_line, end_line, text, tokens,"
        f" 1 - ({_distance(dims)}) AS score FROM chunks"
        f" WHERE workspace_id = %(ws)s AND dims = {dims} AND embedding IS NOT NULL"
        f" ORDER BY {_distance(dims, INDEXED)} LIMIT %(n)s)"
        f" SELECT s.*, f.path FROM s JOIN files f ON f.id = s.file_id"
    )


_WORDS = "websearch_to_tsquery('english', %(text)s)"
_WORDS_BUT_COMMON = (  # every listed lexeme is rewritten to nothing
    f"ts_rewrite({_WORDS}, format('SELECT quote_literal(t)::tsquery, ''''::tsquery"
    " FROM unnest(%%L::text[]) t', %(common)s::text[]))"
)


def _lexical_sql(words: str) -> str:
    """The best full-text matches among at most LEXICAL_CANDIDATES, as whole rows (no score: it
    needs the query's vector, which is still being computed when this starts)."""
    return (
        f"WITH q AS (SELECT {words} AS q),"
        " m AS (SELECT c.id, c.tsv FROM chunks c, q WHERE c.workspace_id = %(ws)s"
        f" AND c.tsv @@ q.q LIMIT {LEXICAL_CANDIDATES}),"
        " r AS (SELECT m.id, ts_rank_cd(m.tsv, q.q) AS rank FROM m, q"
        " ORDER BY rank DESC LIMIT %(n)s)"
        " SELECT c.id, c.file_id, f.path, c.start_line, c.end_line, c.text, c.tokens"
        " FROM r JOIN chunks c ON c.id = r.id JOIN files f ON f.id = c.file_id"
        " ORDER BY r.rank DESC"
    )


LEXICAL_SQL = _lexical_sql(_WORDS)
LEXICAL_BUT_COMMON_SQL = _lexical_sql(_WORDS_BUT_COMMON)
"""The same with the common words (`common`, COMMON_WORD_ROWS) left out of the match."""


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

    def public(self) -> HitView:
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
        self,
        db: Any,
        embedder: Embedder,
        tokens: Tokens,
        threshold: float | None,
        common_word_rows: int = COMMON_WORD_ROWS,
    ) -> None:
        self.db = db
        self.embedder = embedder
        self.tokens = tokens
        self.threshold = (
            threshold
            if threshold is not None
            else (LOCAL_THRESHOLD if embedder.dims == 384 else PROVIDER_THRESHOLD)
        )
        self.common_word_rows = common_word_rows
        self._common: asyncio.Task[list[str]] | None = None
        self._common_since = 0.0

    def embed_soon(self, query: str) -> asyncio.Task[np.ndarray]:
        """Start embedding the query now, e.g. while the caller checks the workspace is theirs
        (only the query's own text is used until then)."""
        return tasks.started(self._embed(query))  # a 404 leaves it unawaited

    async def _embed(self, query: str) -> np.ndarray:
        return (await self.embedder.embed([query]))[0]

    async def search(
        self,
        ws: Workspace,
        query: str,
        top_k: int = 5,
        threshold: float | None = None,
        embedding: asyncio.Task[np.ndarray] | None = None,
    ) -> tuple[list[Hit], float]:
        """Hits above the threshold (or matching the words), best first, and the time taken.
        `embedding` is the query's, from `embed_soon`, when the caller started it early."""
        started = time.perf_counter()
        embedding = embedding or self.embed_soon(query)
        dims = ws.embedding_dims
        if dims is None or dims != self.embedder.dims:  # nothing indexed yet, or not comparable
            embedding.cancel()
            return [], (time.perf_counter() - started) * 1000
        hits = await self._hybrid(ws.id, int(dims), query, top_k, embedding)
        floor = self.threshold if threshold is None else threshold
        kept = [h for h in hits if h.score >= floor or h.lexical][:top_k]
        elapsed = time.perf_counter() - started
        telemetry.seconds(names.RAG_SEARCH_TIME, elapsed)
        return kept, elapsed * 1000

    async def _hybrid(
        self,
        workspace_id: str,
        dims: int,
        query: str,
        top_k: int,
        embedding: asyncio.Task[np.ndarray],
    ) -> list[Hit]:
        """Full-text ranking starts at once; the query's embedding, then the HNSW ranking, run
        meanwhile (each query one round trip on its own pooled connection, returning whole
        rows); the two are fused by reciprocal rank fusion."""
        params: dict[str, Any] = {"ws": workspace_id, "text": query, "n": max(20, top_k * 4)}
        words = asyncio.ensure_future(self._lexical(params))
        try:
            params["q"] = await embedding
            semantic = await self._rows(_semantic_sql(dims), params)
            lexical = await words
        finally:
            words.cancel()  # only when the embedding or the semantic side failed
            await asyncio.gather(words, return_exceptions=True)
        fused: dict[int, float] = {}
        found: dict[int, dict[str, Any]] = {}
        for ranking in (semantic, lexical):
            for rank, row in enumerate(ranking):
                fused[row["id"]] = fused.get(row["id"], 0.0) + 1 / (RRF_K + rank + 1)
                found.setdefault(row["id"], row)
        scores = await self._scores(
            dims, params["q"], [i for i, r in found.items() if "score" not in r]
        )
        lexical_ids = {row["id"] for row in lexical}
        hits = [
            Hit(
                r["id"],
                r["file_id"],
                r["path"],
                r["start_line"],
                r["end_line"],
                float(r["score"] if "score" in r else scores.get(r["id"], 0.0)),
                r["text"],
                r["tokens"],
                r["id"] in lexical_ids,
            )
            for r in found.values()
        ]
        hits.sort(key=lambda h: fused[h.chunk_id], reverse=True)
        return hits

    async def _lexical(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        common = await self._common_words()
        if not common:
            return await self._rows(LEXICAL_SQL, params)
        return await self._rows(LEXICAL_BUT_COMMON_SQL, {**params, "common": common})

    async def _common_words(self) -> list[str]:
        """The lexemes too common to select on, read again every COMMON_REFRESH_SECONDS; none
        before the table's first ANALYZE or when they cannot be read (keeping them only costs
        time)."""
        if self.common_word_rows <= 0:
            return []
        now = time.monotonic()
        if self._common is None or now - self._common_since > COMMON_REFRESH_SECONDS:
            self._common_since = now
            self._common = tasks.started(self._read_common_words())
        try:
            return await asyncio.shield(self._common)
        except (psycopg.Error, DatabaseUnavailable):  # a pool timeout is the latter
            self._common = None  # never keep a failed reading: read again by the next search
            return []

    async def _read_common_words(self) -> list[str]:
        rows = await self._rows(COMMON_SQL, {"rows": self.common_word_rows})
        return [r["lexeme"] for r in rows]

    async def _scores(self, dims: int, vector: np.ndarray, ids: list[int]) -> dict[int, float]:
        """Cosine similarity of the full-text-only hits (0 for chunks without a vector)."""
        if not ids:
            return {}
        rows = await self._rows(
            f"SELECT id, 1 - ({_distance(dims)}) AS score FROM chunks"
            " WHERE id = ANY(%(ids)s) AND embedding IS NOT NULL",
            {"q": vector, "ids": ids},
        )
        return {r["id"]: float(r["score"]) for r in rows}

    async def _rows(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        async with self.db.connection() as conn:
            await with_vectors(conn)
            return await (await conn.execute(sql, params)).fetchall()

    def within_budget(self, hits: list[Hit], budget: int) -> list[Hit]:
        """The best hits whose text fits the chat's context token budget."""
        chosen, used = [], 0
        for hit in hits:
            if used + hit.tokens > budget:
                continue
            chosen.append(hit)
            used += hit.tokens
        return chosen

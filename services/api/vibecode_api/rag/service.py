"""The RAG service the routes use: one embedder (loaded on first use), its tokenizer, the store,
the searcher, and the background worker for queued embeddings."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..scanner import Scanner
from ..settings import EmbeddingsMode, Settings
from .embedder import Embedder, Tokens
from .local_embedder import LocalEmbedder
from .model_files import LOCAL_DIMS, LOCAL_MODEL
from .provider_embedder import ProviderEmbedder
from .remote_embedder import RemoteEmbedder
from .search import Searcher
from .store import Store


class LazyLocalEmbedder:
    """The ONNX session costs memory and a moment to load: pay it on first use, not at
    start (idle RSS and start-to-ready are benchmarked)."""

    model = LOCAL_MODEL
    dims = LOCAL_DIMS

    def __init__(self, threads: int | None, cache: Path | None) -> None:
        self._threads, self._cache = threads, cache

    @cached_property
    def _inner(self) -> LocalEmbedder:
        return LocalEmbedder(self._threads, self._cache)

    async def embed(self, texts: list[str]) -> list[np.ndarray]:
        return await self._inner.embed(texts)


class Rag:
    def __init__(self, settings: Settings, db: Any, quotas: Any, audit: Any, gateway: Any) -> None:
        self.embedder: Embedder
        if settings.embeddings == EmbeddingsMode.provider:
            self.embedder = ProviderEmbedder(
                gateway, settings.embedding_model, settings.embedding_dims
            )
        elif settings.embedder_url is not None:
            self.embedder = RemoteEmbedder(str(settings.embedder_url))
        else:
            self.embedder = LazyLocalEmbedder(settings.embedder_threads, settings.model_cache)
        self.context_tokens = settings.context_tokens
        self.retry_interval = settings.embed_retry_interval
        self._settings = settings
        self._db, self._quotas, self._audit = db, quotas, audit

    @cached_property
    def tokens(self) -> Tokens:
        return Tokens()

    @cached_property
    def store(self) -> Store:
        settings = self._settings
        scanner = (
            Scanner(settings.clamd_url, settings.clamd_timeout) if settings.clamd_url else None
        )
        return Store(
            self._db,
            self._quotas,
            self.embedder,
            self.tokens,
            self._audit,
            scanner,
            settings.clamd_fail_open,
        )

    @cached_property
    def searcher(self) -> Searcher:
        return Searcher(
            self._db,
            self.embedder,
            self.tokens,
            self._settings.search_threshold,
            self._settings.search_common_word_rows,
        )

    async def aclose(self) -> None:
        if isinstance(self.embedder, RemoteEmbedder):
            await self.embedder.aclose()

    async def run(self) -> None:
        """Queued writes: retry pending embeddings (provider mode) until cancelled. The local
        embedder never queues: in process it cannot be unreachable, and an unreachable embedder
        process is a 503 that stores nothing (it is beside us, not a remote provider). So in
        local mode there is nothing to poll and nothing — not even the tokenizer — is loaded at
        start."""
        if self._settings.embeddings != EmbeddingsMode.provider:
            return
        await self._db.wait_schema()
        await self.store.run_pending(self.retry_interval)

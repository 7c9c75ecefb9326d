"""The local embedder: all-MiniLM-L6-v2 in this process, on onnxruntime.

The graph it runs is the wheel's, re-quantized once for int8 matrix products (`quantized.py`).
Each text runs on its own, so there is no padding and a vector never depends on what else was
queued. The ONNX CPU memory arena is off: it costs RSS for no speed here (docs/rag.md).
Output: mean-pooled, L2-normalised.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import numpy as np

from .embedder import MERGE_TEXTS
from .model_files import LOCAL_DIMS, LOCAL_MODEL, MAX_TOKENS, tokenizer_path


def embed_tokens(session: Any, token_ids: list[int]) -> np.ndarray:
    """One text's vector from an ONNX MiniLM session: mean-pooled over its tokens (one text per
    run, so there is no padding to mask), L2-normalised."""
    ids = np.asarray([token_ids], dtype=np.int64)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
    hidden = session.run(None, {**feeds, "token_type_ids": np.zeros_like(ids)})[0][0]
    pooled = hidden.mean(axis=0)
    return (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)


def default_threads(configured: int | None = None) -> int:
    """How many ONNX runs go side by side: `VIBE_EMBEDDER_THREADS` when set (Kubernetes gives the
    sidecar its CPU limit, rounded up), else the CPUs this process may use, at most 4. More runs
    than the CPU quota allows would only be throttled by the kernel, and a query behind them."""
    return configured or min(4, len(os.sched_getaffinity(0)))


class LocalEmbedder:
    model = LOCAL_MODEL
    dims = LOCAL_DIMS

    def __init__(self, threads: int | None = None, cache: Path | None = None) -> None:
        """`threads` and `cache`: `VIBE_EMBEDDER_THREADS` and `VIBE_MODEL_CACHE` (Settings)."""
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from .quantized import runtime_model

        # One thread per run, runs side by side (`_pool`): a lone query on one core is not held
        # up by a sibling thread waiting for a core PostgreSQL is using (two threads per run
        # made search p95 at 100k chunks clearly worse), and an upload still keeps every
        # core busy.
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(runtime_model(cache=cache)), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(tokenizer_path()))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self._cores = default_threads(threads)
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


class _Pending:
    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.done = anyio.Event()
        self.result: list[np.ndarray] = []
        self.error: Exception | None = None

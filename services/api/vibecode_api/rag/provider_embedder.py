"""Embeddings through the provider chain's `/embeddings` (`VIBE_EMBEDDINGS=provider`): the
model and its dimension come from configuration (`VIBE_EMBEDDING_MODEL`, `VIBE_EMBEDDING_DIMS`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import GatewayError
from .embedder import MERGE_TEXTS, EmbeddingFailed


class ProviderEmbedder:
    def __init__(self, gateway: Any, model: str, dims: int) -> None:
        self.gateway = gateway
        self.model = model
        self.dims = dims

    async def embed(self, texts: list[str]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for start in range(0, len(texts), MERGE_TEXTS):
            try:
                result = await self.gateway.embeddings(
                    {"input": texts[start : start + MERGE_TEXTS], "model": self.model}
                )
            except GatewayError as err:
                raise EmbeddingFailed(str(err)) from err
            except Exception as err:  # an upstream's refusal, a malformed answer
                raise EmbeddingFailed(str(err)) from err
            data = sorted(result.body["data"], key=lambda d: d["index"])
            out.extend(np.asarray(d["embedding"], dtype=np.float32) for d in data)
        return out

"""The embedder process's wire format: OpenAI's `/v1/embeddings`, vectors as base64 float32
(`encoding_format: "base64"`, as OpenAI allows): a quarter of the bytes of JSON floats and no
float parsing. Shared by the server (`embed_server.py`) and its client (`remote_embedder.py`)."""

from __future__ import annotations

import base64

import numpy as np


def encode(vector: np.ndarray) -> str:
    return base64.b64encode(vector.astype("<f4").tobytes()).decode()


def decode(item: str | list[float]) -> np.ndarray:
    """One `embedding` of a response, in either encoding."""
    if isinstance(item, str):
        return np.frombuffer(base64.b64decode(item), dtype="<f4").astype(np.float32)
    return np.asarray(item, dtype=np.float32)

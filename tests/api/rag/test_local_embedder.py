"""The local embedder: its int8 graph (`rag/quantized.py`) built once, cached and faithful, and
its runs side by side sized to the CPUs it may use."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from pydantic import ValidationError
from vibecode_api.rag.local_embedder import LocalEmbedder, default_threads, embed_tokens
from vibecode_api.rag.model_files import model_path
from vibecode_api.rag.quantized import runtime_model
from vibecode_api.settings import Settings, describe_error

from .rag_corpus import FILES, QUESTIONS

TEXTS = [*FILES.values(), *(q for q, _ in QUESTIONS)]


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder(threads=2)


def test_a_vector_does_not_depend_on_what_it_was_embedded_with(embedder: LocalEmbedder) -> None:
    # The graph quantizes activations over a whole run: batched texts would change each other.
    together = embedder.embed_sync(TEXTS)
    for text, vector in zip(TEXTS, together, strict=True):
        assert np.array_equal(embedder.embed_sync([text])[0], vector)


def test_vectors_agree_with_the_wheels_float_graph(embedder: LocalEmbedder) -> None:
    """Vectors stored before the int8 graph stay good neighbours of today's queries."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    float_graph = ort.InferenceSession(str(model_path()), options)
    ours = np.stack(embedder.embed_sync(TEXTS))
    encodings = embedder.tokenizer.encode_batch(TEXTS)
    theirs = np.stack([embed_tokens(float_graph, e.ids) for e in encodings])
    cosines = (ours * theirs).sum(axis=1)
    assert cosines.min() > 0.97, cosines.min()
    assert cosines.mean() > 0.99, cosines.mean()


def test_the_graph_is_built_once_per_cache(tmp_path: Path) -> None:
    built = runtime_model(cache=tmp_path)
    assert built.parent == tmp_path
    assert f"ort{ort.__version__}" in built.name  # a new onnxruntime builds its own
    stamp = built.stat().st_mtime_ns
    assert runtime_model(cache=tmp_path) == built
    assert built.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [built.name]  # no half-built leftovers
    ort.InferenceSession(str(built))  # and it loads


def test_an_unwritable_cache_builds_in_a_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    built = runtime_model(cache=blocker / "cache")
    assert built.parent == tmp_path / "tmp" / "vibecode-models"
    assert built.is_file()


@pytest.mark.parametrize(("value", "threads"), [("3", 3), (" 1 ", 1), (None, None)])
def test_runs_side_by_side_follow_the_cpu_limit(
    monkeypatch: pytest.MonkeyPatch, value: str | None, threads: int | None
) -> None:
    if value is None:
        monkeypatch.delenv("VIBE_EMBEDDER_THREADS", raising=False)
    else:
        monkeypatch.setenv("VIBE_EMBEDDER_THREADS", value)
    configured = Settings().embedder_threads
    assert configured == threads
    assert default_threads(configured) == (threads or min(4, len(os.sched_getaffinity(0))))


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5", "65"])
def test_a_bad_thread_count_names_the_variable_and_what_is_allowed(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("VIBE_EMBEDDER_THREADS", value)
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert f"VIBE_EMBEDDER_THREADS={value!r}" in describe_error(refused.value)
    assert "1-64" in describe_error(refused.value)


def test_the_embedder_process_refuses_a_bad_thread_count_at_start() -> None:
    argv = [sys.executable, "-m", "vibecode_api.rag.embed_server", "--port", "1"]
    env = {**os.environ, "VIBE_EMBEDDER_THREADS": "many"}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "VIBE_EMBEDDER_THREADS='many'" in done.stderr


def test_the_graph_is_built_in_the_configured_model_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIBE_MODEL_CACHE", str(tmp_path / "models"))
    settings = Settings()
    LocalEmbedder(settings.embedder_threads, settings.model_cache)
    assert [p.suffix for p in (tmp_path / "models").iterdir()] == [".onnx"]

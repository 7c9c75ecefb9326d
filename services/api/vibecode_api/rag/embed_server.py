"""The local embedder as its own process: MiniLM behind an OpenAI-compatible `/v1/embeddings`
on loopback (what TEI is to a Python service).

Why a process: the ONNX session, its threads and their allocations take more memory while
uploads are embedded than the API's whole 128 MB budget allows (the seeds' memory target and its
P2 monitor; the measured sizes are in docs/benchmarks.md). Apart, the API stays small, the model
is loaded once for every API worker, and a burst of embedding work cannot stall the API's event
loop.
`python -m vibecode_api` starts one for itself (`VIBE_EMBEDDER_PROCESS`); in Kubernetes it is a
sidecar of the API pod.

The wire format (base64 float32 vectors) is `wire.py`.
"""

from __future__ import annotations

import argparse
from functools import cached_property
from typing import Annotated, Any

from litestar import Litestar, get, post
from litestar.datastructures import State
from litestar.params import Body
from pydantic import BaseModel, ConfigDict, Field

from .. import serving
from ..settings import Settings, load_settings
from .local_embedder import LocalEmbedder
from .model_files import LOCAL_DIMS, LOCAL_MODEL
from .wire import encode

MAX_INPUTS = 2048


class EmbeddingsRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    input: str | list[str] = Field(description="one text or up to 2048")
    model: str = LOCAL_MODEL
    encoding_format: str = Field("float", pattern="^(float|base64)$")


class _Model:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def embedder(self) -> LocalEmbedder:
        return LocalEmbedder(self.settings.embedder_threads, self.settings.model_cache)


@post("/v1/embeddings", status_code=200)
async def embeddings(state: State, data: Annotated[EmbeddingsRequest, Body()]) -> dict[str, Any]:
    from litestar.exceptions import ValidationException

    texts = [data.input] if isinstance(data.input, str) else data.input
    if not texts or len(texts) > MAX_INPUTS:
        raise ValidationException(f"input: 1-{MAX_INPUTS} texts")
    if data.model != LOCAL_MODEL:
        raise ValidationException(f"model: this embedder serves {LOCAL_MODEL} only")
    vectors = await state.model.embedder.embed(texts)
    if data.encoding_format == "base64":
        items: list[Any] = [encode(v) for v in vectors]
    else:
        items = [v.tolist() for v in vectors]
    return {
        "object": "list",
        "model": LOCAL_MODEL,
        "data": [{"object": "embedding", "index": i, "embedding": e} for i, e in enumerate(items)],
        "usage": {"prompt_tokens": 0, "total_tokens": 0},
    }


@get("/healthz")
async def healthz(state: State) -> dict[str, Any]:
    return {"status": "ok", "model": LOCAL_MODEL, "dims": LOCAL_DIMS}


def create_app() -> Litestar:
    """The server's factory: `VIBE_EMBEDDER_THREADS` and `VIBE_MODEL_CACHE` from Settings."""
    model = _Model(load_settings())

    async def load() -> None:  # ready means the model answers: load it before serving
        import anyio

        await anyio.to_thread.run_sync(lambda: model.embedder)

    return Litestar(
        route_handlers=[embeddings, healthz],
        state=State({"model": model}),
        on_startup=[load],
        openapi_config=None,
        logging_config=None,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vibecode_api.rag.embed_server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--fd", type=int, help="serve on this inherited listening socket")
    args = parser.parse_args(argv)
    load_settings()  # a bad setting stops the start (exit 2, naming it), not the first upload
    serving.run(
        "vibecode_api.rag.embed_server:create_app", host=args.host, port=args.port, fd=args.fd
    )


if __name__ == "__main__":
    main()

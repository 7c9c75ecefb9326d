"""The same MiniLM, served by the embedder process (`embed_server.py`, a sidecar in
Kubernetes): identical model name and dimensions, so workspaces indexed either way are one and
the same."""

from __future__ import annotations

import httpx
import numpy as np

from .. import outbound
from ..errors import ApiError
from .embedder import MERGE_TEXTS
from .model_files import LOCAL_DIMS, LOCAL_MODEL
from .wire import decode


class RemoteEmbedder:
    model = LOCAL_MODEL
    dims = LOCAL_DIMS

    def __init__(self, url: str, timeout: float = 120.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._endpoint = httpx.URL(f"{self.url}/v1/embeddings")
        # The gateway's kind of pool: less of the API's CPU per call than httpx's own transport
        # (docs/benchmarks.md), and no reference cycle per call.
        self._transport = outbound.pooled_transport()

    async def embed(self, texts: list[str]) -> list[np.ndarray]:
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

"""The embedder process (`python -m vibecode_api.rag.embed_server`) and the API's use of it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from vibecode_api import children
from vibecode_api.children import free_port
from vibecode_api.rag.local_embedder import LocalEmbedder
from vibecode_api.rag.model_files import LOCAL_MODEL
from vibecode_api.rag.wire import decode

from ..conftest import UPSTREAM_CYCLES, as_user, cyclic_garbage

ALICE = as_user("alice")


@pytest.fixture(scope="module")
def embedder_url() -> Iterator[str]:
    port = free_port()
    argv = [sys.executable, "-m", "vibecode_api.rag.embed_server", "--port", str(port)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    children.wait_until_up(f"{url}/healthz", proc, timeout=60)
    yield url
    proc.terminate()
    proc.wait(15)


def test_vectors_match_the_in_process_embedder_in_both_encodings(embedder_url: str) -> None:
    texts = ["deploys happen on weekdays", "retries use full jitter", "x"]
    local = LocalEmbedder(threads=1).embed_sync(texts)
    for encoding in ("base64", "float"):
        r = httpx.post(
            f"{embedder_url}/v1/embeddings",
            json={"input": texts, "model": LOCAL_MODEL, "encoding_format": encoding},
            timeout=30,
        )
        assert r.status_code == 200
        body = r.json()
        assert [d["index"] for d in body["data"]] == [0, 1, 2]
        for item, expected in zip(body["data"], local, strict=True):
            vector = decode(item["embedding"])
            assert vector.shape == (384,)
            assert np.allclose(vector, expected, atol=1e-5)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"input": [], "model": LOCAL_MODEL}, "1-2048"),
        ({"input": ["a"], "model": "text-embedding-3-small"}, "serves"),
        ({"input": ["a"], "encoding_format": "hex"}, "encoding_format"),
    ],
)
def test_bad_requests_are_400_with_what_is_allowed(
    embedder_url: str, body: dict[str, Any], words: str
) -> None:
    r = httpx.post(f"{embedder_url}/v1/embeddings", json=body, timeout=10)
    assert r.status_code == 400
    assert words in r.text


def test_the_api_uses_the_embedder_process(make_client: Any, embedder_url: str) -> None:
    client = make_client(embedder_url=embedder_url)
    ws = client.post("/api/workspaces", json={"name": "e"}, headers=ALICE).json()["id"]
    up = client.post(
        f"/api/workspaces/{ws}/files",
        files={"file": ("deploy.md", b"No production deploys on Fridays.\n")},
        headers=ALICE,
    )
    assert up.status_code == 201
    hits = client.post(
        f"/api/workspaces/{ws}/search", json={"query": "fridays deploy"}, headers=ALICE
    ).json()["results"]
    assert hits[0]["path"] == "deploy.md"

    def searches() -> None:
        for _ in range(3):
            r = client.post(f"/api/workspaces/{ws}/search", json={"query": "x"}, headers=ALICE)
            assert r.status_code == 200

    assert not cyclic_garbage(searches) & UPSTREAM_CYCLES  # freed at once, not by collections


def test_an_unreachable_embedder_is_a_503_and_nothing_is_stored(make_client: Any) -> None:
    client = make_client(embedder_url=f"http://127.0.0.1:{free_port()}")
    ws = client.post("/api/workspaces", json={"name": "e"}, headers=ALICE).json()["id"]
    up = client.post(
        f"/api/workspaces/{ws}/files", files={"file": ("a.md", b"hello there\n")}, headers=ALICE
    )
    assert up.status_code == 503
    assert up.json()["error"] == "embedder_unavailable"
    assert client.get(f"/api/workspaces/{ws}/files", headers=ALICE).json() == []
    chat = client.post(
        "/api/chat",
        json={"messages": [{"role": "user", "content": "hello?"}], "workspaceId": ws},
        headers=ALICE,
    )
    assert chat.status_code == 200  # chat never fails for want of context
    assert chat.json()["provider"] == "offline"

"""RAG on the real embedded database with the real local embedder."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from vibecode_api.services import services_of
from vibecode_fakeprovider import FakeProvider, serve_in_thread

from ..conftest import as_user
from .rag_corpus import FILES, QUESTIONS

ALICE = as_user("alice", "vibecode-premium")
BOB = as_user("bob", "vibecode-premium")


def upload(client: Any, ws: str, path: str, content: bytes | str, headers: Any = ALICE) -> Any:
    data = content.encode() if isinstance(content, str) else content
    return client.post(
        f"/api/workspaces/{ws}/files",
        files={"file": (path, data)},
        data={"path": path},
        headers=headers,
    )


def workspace(client: Any, name: str = "rag", headers: Any = ALICE) -> str:
    ws: str = client.post("/api/workspaces", json={"name": name}, headers=headers).json()["id"]
    return ws


@pytest.fixture
def corpus(make_client: Any) -> tuple[Any, str]:
    client = make_client()
    ws = workspace(client)
    for path, text in FILES.items():
        r = upload(client, ws, path, text)
        assert r.status_code == 201, r.text
    return client, ws


def test_every_question_finds_its_file_in_the_top_3(corpus: tuple[Any, str]) -> None:
    client, ws = corpus
    misses = []
    for question, expected in QUESTIONS:
        r = client.post(
            f"/api/workspaces/{ws}/search", json={"query": question, "topK": 3}, headers=ALICE
        )
        assert r.status_code == 200
        paths = [hit["path"] for hit in r.json()["results"]]
        if expected not in paths:
            misses.append((question, expected, paths))
    assert misses == []


def test_results_carry_lines_scores_and_text(corpus: tuple[Any, str]) -> None:
    client, ws = corpus
    body = client.post(
        f"/api/workspaces/{ws}/search",
        json={"query": "which port does outgoing mail use?"},
        headers=ALICE,
    ).json()
    top = body["results"][0]
    assert set(top) == {"fileId", "path", "startLine", "endLine", "score", "text"}
    assert top["path"] == "src/email.py"
    assert (top["startLine"], top["endLine"]) == (1, 7)
    assert "587" in top["text"]
    assert 0 < top["score"] <= 1
    assert body["tookMs"] >= 0
    files = client.get(f"/api/workspaces/{ws}/files", headers=ALICE).json()
    assert len(files) == 30
    assert {f["status"] for f in files} == {"indexed"}


def test_reuploading_re_embeds_only_what_changed(make_client: Any) -> None:
    client = make_client()
    ws = workspace(client)
    lines = [
        f"Section {i}: the service component number {i} handles request routing "
        f"for tenant group {i} with its own retry policy and timeouts."
        for i in range(40)
    ]
    first = upload(client, ws, "big.md", "\n".join(lines))
    assert first.status_code == 201
    n = first.json()["chunks"]
    assert n >= 8
    assert (first.json()["chunksAdded"], first.json()["chunksKept"]) == (n, 0)
    again = upload(client, ws, "big.md", "\n".join(lines))
    assert again.status_code == 200
    assert again.json() | {"sha256": ""} == first.json() | {
        "sha256": "",
        "chunksAdded": 0,
        "chunksKept": n,
        "chunksRemoved": 0,
    }
    changed = [*lines]
    changed[20] = "Section 20 now says something entirely different about caching layers."
    third = upload(client, ws, "big.md", "\n".join(changed)).json()
    # Exact bookkeeping: every old chunk is kept or removed, every new one kept or added ...
    assert third["chunksKept"] + third["chunksRemoved"] == n
    assert third["chunksKept"] + third["chunksAdded"] == third["chunks"]
    # ... and content-defined boundaries keep one edited line from touching more than a few.
    assert 1 <= third["chunksAdded"] <= 3
    assert third["chunksKept"] >= n - 4
    hits = client.post(
        f"/api/workspaces/{ws}/search", json={"query": "caching layers"}, headers=ALICE
    ).json()["results"]
    assert "caching layers" in hits[0]["text"]


def test_identical_text_is_embedded_once(make_client: Any) -> None:
    client = make_client()
    ws = workspace(client)
    upload(client, ws, "a.md", "The same paragraph about deployment windows and freezes.")
    r = upload(client, ws, "b.md", "The same paragraph about deployment windows and freezes.")
    assert r.json()["chunksAdded"] == 1  # a new row, but its vector came from the cache
    db_url = services_of(client.app.state).db.url
    import psycopg

    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM embedding_cache").fetchone()[0] == 1


@pytest.mark.parametrize(
    ("path", "content", "status", "error"),
    [
        ("bin.dat", b"\x00\x01\x02binary\x00", 415, "unsupported_media_type"),
        ("latin.txt", "caf\xe9".encode("latin-1"), 415, "unsupported_media_type"),
        ("empty.txt", b"", 422, "empty_file"),
        ("blank.txt", b"   \n\n", 422, "empty_file"),
        ("../escape.txt", b"text", 422, "invalid_path"),
        ("/etc/passwd", b"text", 422, "invalid_path"),
        ("a/" * 300 + "x.txt", b"text", 422, "invalid_path"),
    ],
)
def test_bad_uploads_get_their_status_and_leave_nothing(
    make_client: Any, path: str, content: bytes, status: int, error: str
) -> None:
    client = make_client()
    ws = workspace(client)
    r = upload(client, ws, path, content)
    assert r.status_code == status, r.text
    assert r.json()["error"] == error
    assert r.json()["detail"]
    assert client.get(f"/api/workspaces/{ws}/files", headers=ALICE).json() == []


def test_file_size_over_the_tier_limit_is_413_with_the_limit(make_client: Any) -> None:
    client = make_client()
    free = as_user("frank")
    ws = workspace(client, headers=free)
    r = upload(client, ws, "big.txt", b"a" * (10 * 2**20 + 1), headers=free)
    assert r.status_code == 413
    assert (r.json()["quota"], r.json()["limit"]) == ("fileSize", 10 * 2**20)
    assert client.get(f"/api/workspaces/{ws}/files", headers=free).json() == []


def test_files_per_workspace_and_chunk_quotas_refuse_whole(
    make_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vibecode_core import tenancy

    small = tenancy.Tier(
        **{
            **tenancy.TIERS[tenancy.TierName.free].__dict__,
            "max_files_per_workspace": 3,
            "max_vector_chunks": 5,
        }
    )
    monkeypatch.setitem(tenancy.TIERS, tenancy.TierName.free, small)
    client = make_client()
    free = as_user("fiona")
    ws = workspace(client, headers=free)
    for i in range(3):
        assert upload(client, ws, f"f{i}.md", f"note {i}", headers=free).status_code == 201
    r = upload(client, ws, "f3.md", "note 3", headers=free)
    assert (r.status_code, r.json()["quota"], r.json()["limit"]) == (403, "filesPerWorkspace", 3)
    assert upload(client, ws, "f0.md", "note zero, updated", headers=free).status_code == 200
    long = "\n".join(f"line {i} of a long text with plenty of distinct words" for i in range(200))
    r = upload(client, ws, "f1.md", long, headers=free)
    assert (r.status_code, r.json()["quota"]) == (403, "vectorChunks")
    usage = client.get("/api/usage", headers=free).json()["quotas"]
    assert usage["vectorChunks"]["used"] == 3
    assert usage["filesPerWorkspace"]["used"] == 3


def test_a_second_user_reaches_none_of_the_first_users_chunks(corpus: tuple[Any, str]) -> None:
    client, ws = corpus
    for method, path, body in [
        ("POST", f"/api/workspaces/{ws}/search", {"query": "password reset"}),
        ("GET", f"/api/workspaces/{ws}/files", None),
    ]:
        r = client.request(method, path, json=body, headers=BOB)
        assert r.status_code == 404, (method, path)
    upload = {"file": ("intruder.md", b"# not yours\n")}
    r = client.post(f"/api/workspaces/{ws}/files", files=upload, headers=BOB)
    assert r.status_code == 404
    chat = client.post(
        "/api/chat",
        json={"messages": [{"role": "user", "content": "password"}], "workspaceId": ws},
        headers=BOB,
    )
    assert chat.status_code == 404
    file_id = client.get(f"/api/workspaces/{ws}/files", headers=ALICE).json()[0]["id"]
    assert client.delete(f"/api/workspaces/{ws}/files/{file_id}", headers=BOB).status_code == 404
    bobs = workspace(client, "bobs", headers=BOB)
    assert client.delete(f"/api/workspaces/{bobs}/files/{file_id}", headers=BOB).status_code == 404
    r = client.post(f"/api/workspaces/{bobs}/search", json={"query": "password reset"}, headers=BOB)
    assert r.json()["results"] == []


def test_offline_chat_answers_with_the_retrieved_passages_labelled(corpus: tuple[Any, str]) -> None:
    client, ws = corpus
    q = {
        "messages": [{"role": "user", "content": "I forgot my password, what now?"}],
        "workspaceId": ws,
    }
    body = client.post("/api/chat", json=q, headers=ALICE).json()
    assert body["provider"] == "offline"
    assert body["context"][0]["path"] == "docs/password-reset.md"
    assert body["context"][0]["n"] == 1
    assert (
        "Retrieved passages from your files (not a generated answer)" in body["message"]["content"]
    )
    assert "[1] docs/password-reset.md, lines 1-3" in body["message"]["content"]
    streamed = client.post("/api/chat", json={**q, "stream": True}, headers=ALICE).text
    first = streamed.split("\n\n")[0].split("\n")
    assert first[0] == "event: context"
    assert '"path": "docs/password-reset.md"' in first[1]


def test_chat_puts_numbered_sources_in_the_prompt(make_client: Any) -> None:
    seen: list[Any] = []
    fake = serve_in_thread(FakeProvider(name="p"))
    try:
        client = make_client(megallm_api_key="k", megallm_base_url=fake.url)
        ws = workspace(client)
        upload(client, ws, "docs/coffee.md", FILES["notes/coffee.md"])
        r = client.post(
            "/api/chat",
            json={
                "messages": [{"role": "user", "content": "coffee per litre?"}],
                "workspaceId": ws,
            },
            headers=ALICE,
        )
        body = r.json()
        assert body["provider"] == "megallm"
        assert body["context"][0]["path"] == "docs/coffee.md"
        seen = fake.fake.paths
    finally:
        fake.stop()
    assert seen == ["/v1/chat/completions"]


def test_chat_still_answers_when_retrieval_fails(make_client: Any) -> None:
    """The embedder process goes away between indexing and the question (a real server that
    starts failing, not a replaced method): the answer comes without context and says so."""
    embedder = serve_in_thread(FakeProvider(name="embedder", embedding_dims=384))
    try:
        client = make_client(embedder_url=embedder.url.removesuffix("/v1"))
        ws = workspace(client)
        assert upload(client, ws, "a.md", "something").json()["status"] == "indexed"
        embedder.fake.fault = "500"
        body = client.post(
            "/api/chat",
            json={"messages": [{"role": "user", "content": "something"}], "workspaceId": ws},
            headers=ALICE,
        ).json()
    finally:
        embedder.stop()
    assert body["context"] == []
    assert "could not be searched" in body["message"]["content"]


def test_words_in_most_chunks_are_left_out_of_the_full_text_match(make_client: Any) -> None:
    """A word found in more chunks than VIBE_SEARCH_COMMON_WORD_ROWS (by PostgreSQL's statistics)
    selects nothing: full-text search matches on the query's other words instead of requiring it
    (and never reads its long posting list)."""
    import psycopg

    never = make_client(search_common_word_rows=0)
    ws = workspace(never)
    for i in range(25):
        text = f"Widget inventory entry {i}: the widget goes out in batch {i}."
        assert upload(never, ws, f"notes/n{i}.md", text).status_code == 201
    assert upload(never, ws, "notes/special.md", "Frobnicate the gizmo.").status_code == 201
    with psycopg.connect(services_of(never.app.state).db.url, autocommit=True) as conn:
        conn.execute("ANALYZE chunks")  # what autovacuum does after enough writes
    pruning = make_client(search_common_word_rows=20)

    def lexical_paths(client: Any, query: str) -> list[str]:
        # at this threshold only full-text matches survive (MiniLM never scores them so high)
        body = {"query": query, "topK": 50, "threshold": 0.99}
        r = client.post(f"/api/workspaces/{ws}/search", json=body, headers=ALICE)
        assert r.status_code == 200, r.text
        return [hit["path"] for hit in r.json()["results"]]

    assert lexical_paths(never, "widget frobnicate") == []  # no chunk has both words
    assert lexical_paths(pruning, "widget frobnicate") == ["notes/special.md"]
    assert len(lexical_paths(never, "widget")) == 25
    assert lexical_paths(pruning, "widget") == []  # only a common word: no full-text side
    assert lexical_paths(pruning, "batch 7") == ["notes/n7.md"]  # rare words still select

    async def read_while_away_then_back() -> tuple[list[str], list[str]]:
        """A reading that failed (the database away: a pool timeout) is not kept: the next
        search reads the words again."""
        from vibecode_api.db.pool import Database
        from vibecode_api.rag.search import Searcher

        away = Database("postgresql://nobody@127.0.0.1:1/none", timeout_ms=200)
        back = Database(services_of(never.app.state).db.url)
        await away.open()
        await back.open()
        try:
            live = services_of(pruning.app.state).rag.searcher
            searcher = Searcher(away, live.embedder, live.tokens, None, common_word_rows=20)
            first = await searcher._common_words()
            searcher.db = back
            return first, await searcher._common_words()
        finally:
            await away.close()
            await back.close()

    while_away, once_back = asyncio.run(read_while_away_then_back())
    assert while_away == []
    assert {"widget", "batch"} <= set(once_back)
    assert "frobnic" not in once_back


def test_deleting_a_file_or_workspace_deletes_its_chunks(corpus: tuple[Any, str]) -> None:
    import psycopg

    client, ws = corpus
    url = services_of(client.app.state).db.url
    files = client.get(f"/api/workspaces/{ws}/files", headers=ALICE).json()
    with psycopg.connect(url) as conn:
        count = lambda: conn.execute("SELECT count(*) FROM chunks").fetchone()[0]  # noqa: E731
        before = count()
        assert (
            client.delete(f"/api/workspaces/{ws}/files/{files[0]['id']}", headers=ALICE).status_code
            == 204
        )
        assert count() == before - files[0]["chunks"]
        assert client.delete(f"/api/workspaces/{ws}", headers=ALICE).status_code == 204
        assert count() == 0
        assert conn.execute("SELECT count(*) FROM files").fetchone()[0] == 0


def test_concurrent_uploads_to_one_workspace_lose_nothing(
    api_process: Any, database_url: str
) -> None:
    apis = [
        api_process({"VIBE_DATABASE_URL": database_url, "VIBE_LOG_LEVEL": "warn"}) for _ in range(2)
    ]
    for api in apis:
        api.wait_ready()
    with httpx.Client() as c:
        ws = c.post(f"{apis[0].url}/api/workspaces", json={"name": "c"}, headers=ALICE).json()["id"]

    async def burst() -> list[int]:
        async with httpx.AsyncClient(timeout=60) as c:
            answers = await asyncio.gather(
                *[
                    c.post(
                        f"{apis[i % 2].url}/api/workspaces/{ws}/files",
                        files={"file": (f"n{i}.md", f"note number {i} about topic {i}".encode())},
                        headers=ALICE,
                    )
                    for i in range(20)
                ]
            )
        return [a.status_code for a in answers]

    assert Counter(asyncio.run(burst())) == {201: 20}
    listed = httpx.get(f"{apis[1].url}/api/workspaces/{ws}/files", headers=ALICE).json()
    assert sorted(f["path"] for f in listed) == sorted(f"n{i}.md" for i in range(20))
    for api in apis:
        assert api.stop(signal.SIGTERM) == 0


def test_an_acknowledged_upload_survives_a_restart(api_process: Any, tmp_path: Path) -> None:
    env = {"VIBE_DATA_DIR": str(tmp_path / "data"), "VIBE_LOG_LEVEL": "warn"}
    first = api_process(env)
    first.wait_ready()
    ws = httpx.post(f"{first.url}/api/workspaces", json={"name": "p"}, headers=ALICE).json()["id"]
    r = httpx.post(
        f"{first.url}/api/workspaces/{ws}/files",
        files={"file": ("kept.md", b"Kept across restarts: the answer is 42.")},
        headers=ALICE,
    )
    assert r.status_code == 201
    assert first.stop(signal.SIGTERM) == 0
    second = api_process(env)
    second.wait_ready()
    hits = httpx.post(
        f"{second.url}/api/workspaces/{ws}/search",
        json={"query": "what is the answer?"},
        headers=ALICE,
    ).json()["results"]
    assert hits[0]["path"] == "kept.md"
    assert second.stop(signal.SIGTERM) == 0


def test_provider_mode_queues_a_failed_embedding_and_a_worker_finishes_it(
    make_client: Any,
) -> None:
    import time

    fake = serve_in_thread(FakeProvider(name="emb", fault="503"))
    try:
        client = make_client(
            embeddings="provider",
            megallm_api_key="k",
            megallm_base_url=fake.url,
            timeout=300,
            max_retries=0,
            embed_retry_interval=0.1,
        )
        ws = workspace(client)
        r = upload(client, ws, "q.md", "queued while the provider is down")
        assert r.status_code == 201
        assert r.json()["status"] == "pending"
        assert (
            client.get(f"/api/workspaces/{ws}/files", headers=ALICE).json()[0]["status"]
            == "pending"
        )
        fake.fake.fault = "none"
        deadline = time.monotonic() + 20
        while (
            client.get(f"/api/workspaces/{ws}/files", headers=ALICE).json()[0]["status"]
            != "indexed"
        ):
            assert time.monotonic() < deadline, "the worker never embedded the pending chunks"
            time.sleep(0.1)  # the worker runs on its own schedule
        hits = client.post(
            f"/api/workspaces/{ws}/search",
            json={"query": "queued while the provider is down", "threshold": 0},
            headers=ALICE,
        ).json()["results"]
        assert hits[0]["path"] == "q.md"
    finally:
        fake.stop()


def test_mixing_embedding_models_in_a_workspace_is_refused(
    make_client: Any, database_url: str
) -> None:
    local = make_client()
    ws = workspace(local)
    assert upload(local, ws, "a.md", "indexed with the local model").status_code == 201
    fake = serve_in_thread(FakeProvider(name="emb"))
    try:
        remote = make_client(embeddings="provider", megallm_api_key="k", megallm_base_url=fake.url)
        r = upload(remote, ws, "b.md", "would be embedded by the provider")
        assert r.status_code == 409
        assert r.json()["error"] == "embedding_model_mismatch"
        assert "all-MiniLM-L6-v2-int8 (384 dims)" in r.json()["detail"]
    finally:
        fake.stop()


def test_a_hit_only_the_words_found_has_its_cosine_score(make_client: Any) -> None:
    """Full-text-only hits are scored by a query of their own (`_scores`): with the same number
    the semantic side gives, since the threshold and the citations' order depend on it."""
    import psycopg

    client = make_client()
    ws = workspace(client)
    assert upload(client, ws, "notes/gizmo.md", "Frobnicate the gizmo weekly.").status_code == 201

    def gizmo_score() -> float:
        body = {"query": "frobnicate gizmo", "threshold": 0.99}  # only full-text hits stay
        r = client.post(f"/api/workspaces/{ws}/search", json=body, headers=ALICE)
        (hit,) = r.json()["results"]
        assert hit["path"] == "notes/gizmo.md"
        return float(hit["score"])

    nearest = gizmo_score()  # found by both sides: the semantic query's score
    assert nearest > 0.5
    with psycopg.connect(services_of(client.app.state).db.url, autocommit=True) as conn:
        # out of the semantic side's reach (it searches one dimension), words and vector kept
        conn.execute("UPDATE chunks SET dims = 0 WHERE workspace_id = %s", (ws,))
    assert gizmo_score() == pytest.approx(nearest, abs=1e-4)  # found by its words only


def test_the_semantic_query_walks_the_hnsw_index(corpus: tuple[Any, str]) -> None:
    """The query's ORDER BY must be the indexed expression (migration 0005's half-precision
    cast), or every search silently becomes an exact scan of the workspace."""
    import numpy as np
    import psycopg
    from pgvector.psycopg import register_vector
    from vibecode_api.rag.search import SESSION_OPTIONS, _semantic_sql

    client, ws = corpus
    query = np.full(384, 1 / np.sqrt(384), dtype=np.float32)
    with psycopg.connect(services_of(client.app.state).db.url, options=SESSION_OPTIONS) as conn:
        register_vector(conn)
        conn.execute("SET enable_seqscan = off")  # a 30-file table is cheaper to scan
        plan = "\n".join(
            row[0]
            for row in conn.execute(
                "EXPLAIN " + _semantic_sql(384), {"ws": ws, "q": query, "n": 20}
            )
        )
    assert "Index Scan using chunks_hnsw_384_half" in plan, plan

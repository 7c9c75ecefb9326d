"""The provider gateway against real OpenAI-compatible servers on loopback that fail on purpose."""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from vibecode_api.children import free_port
from vibecode_api.errors import ProvidersUnavailable
from vibecode_api.providers.gateway import Gateway
from vibecode_fakeprovider import FakeProvider, serve_in_thread

from ..clocks import ManualClock
from ..conftest import UPSTREAM_CYCLES, as_user, cyclic_garbage

ALICE = as_user("alice", "vibecode-premium")
CHAT = {"messages": [{"role": "user", "content": "hi"}]}
REPLY = "Hello from the fake provider."


@pytest.fixture
def fakes() -> Iterator[list[Any]]:
    running = [serve_in_thread(FakeProvider(name=n)) for n in ("one", "two", "three")]
    yield running
    for r in running:
        r.stop()


def chain(make_client: Any, urls: list[str], **overrides: Any) -> Any:
    """An app whose chain is megallm → openrouter → … at the given base URLs."""
    names = ["megallm", "openrouter", "agentrouter", "routeway"]
    values: dict[str, Any] = {"timeout": 300, "max_retries": 1, **overrides}
    for name, url in zip(names, urls, strict=False):
        values[f"{name}_api_key"] = f"key-{name}"
        values[f"{name}_base_url"] = url
    return make_client(**values)


def refused_url() -> str:
    return f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there


def sse_data(text: str) -> list[Any]:
    out = []
    for block in text.strip().split("\n\n"):
        for line in block.splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                out.append(json.loads(line[6:]))
    return out


def test_offline_mode_says_so_plainly(client: Any) -> None:
    r = client.post("/api/chat", json=CHAT, headers=ALICE)
    assert r.status_code == 200
    body = r.json()
    assert body["provider"] == "offline"
    assert "no AI provider is configured" in body["message"]["content"]
    assert body["context"] == []
    assert r.headers["x-vibe-provider"] == "offline"
    streamed = client.post("/api/chat", json={**CHAT, "stream": True}, headers=ALICE)
    events = [b.split("\n")[0] for b in streamed.text.strip().split("\n\n")]
    assert events == ["event: context", "event: delta", "event: done"]
    v1 = client.post("/v1/chat/completions", json=CHAT, headers=ALICE).json()
    assert "Offline mode" in v1["choices"][0]["message"]["content"]


def test_a_healthy_primary_answers_with_our_headers(make_client: Any, fakes: list[Any]) -> None:
    client = chain(make_client, [fakes[0].url, fakes[1].url])
    r = client.post("/v1/chat/completions", json=CHAT, headers=ALICE)
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"] == REPLY
    assert r.headers["x-vibe-provider"] == "megallm"
    assert float(r.headers["x-vibe-overhead-ms"]) >= 0
    assert fakes[1].fake.requests == 0
    api = client.post("/api/chat", json=CHAT, headers=ALICE).json()
    assert (api["message"]["content"], api["provider"], api["context"]) == (REPLY, "megallm", [])
    assert api["usage"]["total_tokens"] > 0


def test_the_fake_providers_latency_jitter_stays_in_its_window() -> None:
    """Jitter lets concurrent clients drift apart as against a real model (the benchmark's
    concurrency-64 run relies on it); it never makes a negative wait."""
    fake = FakeProvider(latency_ms=100, latency_jitter_ms=50)
    delays = [fake.delay() for _ in range(500)]
    assert all(0.05 <= d <= 0.15 for d in delays)
    assert max(delays) - min(delays) > 0.08
    assert FakeProvider(latency_ms=20).delay() == 0.02
    assert min(FakeProvider(latency_ms=10, latency_jitter_ms=50).delay() for _ in range(200)) == 0


def test_requests_leave_nothing_for_the_cycle_collector(make_client: Any, fakes: list[Any]) -> None:
    """A chat's objects are freed when it ends. Under load, the collector's pauses for the
    reference cycles that each chat used to leave (its scope and its upstream response) were
    the gateway's p99 at concurrency 64 (docs/benchmarks.md)."""
    client = chain(make_client, [fakes[0].url])
    stream = {**CHAT, "stream": True}
    for body in (CHAT, stream):  # warm: first-use caches are not per-request garbage
        assert client.post("/v1/chat/completions", json=body, headers=ALICE).status_code == 200

    def chats() -> None:
        for body in (CHAT, stream, CHAT, stream):
            r = client.post("/v1/chat/completions", json=body, headers=ALICE)
            assert r.status_code == 200

    assert not cyclic_garbage(chats) & {"RateLimitCheck", "Identity", *UPSTREAM_CYCLES}


def test_startup_objects_are_frozen_out_of_collections(make_client: Any) -> None:
    """Everything the app builds at start (modules, routes, models) is moved out of the
    collector's reach, so a full collection scans a request's objects, not ~130k of ours."""
    gc.unfreeze()
    client = make_client()
    assert client.get("/api/health/live").status_code == 200
    assert gc.get_freeze_count() > 10_000


FAILOVER_FAULTS = ["refused", "hang", "500", "502", "503", "429", "401", "reset", "malformed"]


@pytest.mark.parametrize("fault", FAILOVER_FAULTS)
def test_every_fault_of_the_primary_fails_over(
    make_client: Any, fakes: list[Any], fault: str
) -> None:
    primary = refused_url() if fault == "refused" else fakes[0].url
    fakes[0].fake.fault = fault
    fakes[0].fake.retry_after = 5  # longer than the timeout: the wait is capped by it
    client = chain(make_client, [primary, fakes[1].url])
    r = client.post("/v1/chat/completions", json=CHAT, headers=ALICE)
    assert r.status_code == 200, r.text
    assert r.headers["x-vibe-provider"] == "openrouter"
    assert r.json()["choices"][0]["message"]["content"] == REPLY
    if fault == "401":
        assert fakes[0].fake.requests == 1  # auth errors are not retried
    elif fault != "refused":
        assert fakes[0].fake.requests == 2  # VIBE_MAX_RETRIES=1: one retry


@pytest.mark.parametrize("fault", [*FAILOVER_FAULTS, "cut_before_first_token"])
def test_every_fault_before_the_first_token_fails_over_transparently_when_streaming(
    make_client: Any, fakes: list[Any], fault: str
) -> None:
    primary = refused_url() if fault == "refused" else fakes[0].url
    fakes[0].fake.fault = fault
    client = chain(make_client, [primary, fakes[1].url])
    r = client.post("/v1/chat/completions", json={**CHAT, "stream": True}, headers=ALICE)
    assert r.status_code == 200, r.text
    assert r.headers["x-vibe-provider"] == "openrouter"
    assert r.headers["content-type"].startswith("text/event-stream")
    chunks = sse_data(r.text)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text == REPLY
    assert r.text.rstrip().endswith("data: [DONE]")


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        ("cut_after_first_token", "broke the stream"),
        ("stall_after_first_token", "sent nothing for"),
        ("end_after_first_token", "ended the stream before the answer was complete"),
        ("malformed_after_first_token", "sent a malformed chunk"),
    ],
)
def test_a_failure_after_the_first_token_ends_the_stream_with_an_error_naming_the_provider(
    make_client: Any, fakes: list[Any], fault: str, why: str
) -> None:
    """A stream that breaks, stalls, ends without `[DONE]` or a `finish_reason`, or carries a
    chunk that is not JSON is never passed off as a whole answer: no `[DONE]`, no `done` — here
    with no provider left to continue it on (the next test continues it)."""
    fakes[0].fake.fault = fault
    client = chain(make_client, [fakes[0].url])
    r = client.post("/v1/chat/completions", json={**CHAT, "stream": True}, headers=ALICE)
    data = sse_data(r.text)
    assert data[-1]["error"]["provider"] == "megallm"
    assert why in data[-1]["error"]["message"]
    assert "data: [DONE]" not in r.text
    assert "half" not in r.text  # a malformed chunk is not passed on
    api = client.post("/api/chat", json={**CHAT, "stream": True}, headers=ALICE)
    events = [b.split("\n") for b in api.text.strip().split("\n\n")]
    assert events[0][0] == "event: context"
    assert events[1] == ["event: delta", 'data: {"content": "Hello"}']
    assert events[-1][0] == "event: error"
    assert json.loads(events[-1][1][6:])["provider"] == "megallm"
    assert "event: done" not in api.text


@pytest.mark.parametrize(
    ("fault", "rejects_prefill", "repeat"),
    [
        ("cut_after_first_token", False, 0),
        ("end_after_first_token", False, 5),
        ("malformed_after_first_token", True, 0),
        ("stall_after_first_token", True, 5),
    ],
)
def test_a_stream_that_fails_after_its_first_token_is_continued_on_the_next_provider(
    make_client: Any, fakes: list[Any], fault: str, rejects_prefill: bool, repeat: int
) -> None:
    """The answer goes on in the same response: the next provider gets the conversation and
    the partial answer (as a prefill, or quoted when it refuses a prefill with a 400), the text
    it restates at the seam is dropped, and the switch is marked."""
    fakes[0].fake.fault = fault
    fakes[1].fake.rejects_prefill = rejects_prefill
    fakes[1].fake.repeat_at_seam = repeat
    client = chain(make_client, [fakes[0].url, fakes[1].url])
    r = client.post("/v1/chat/completions", json={**CHAT, "stream": True}, headers=ALICE)
    chunks = sse_data(r.text)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks) == REPLY
    assert r.text.rstrip().endswith("data: [DONE]")
    marked = [c.get("provider") for c in chunks if "provider" in c]
    assert marked == ["openrouter"]  # the first chunk after the switch
    assert "error" not in r.text

    api = client.post("/api/chat", json={**CHAT, "stream": True}, headers=ALICE)
    events = [b.split("\n") for b in api.text.strip().split("\n\n")]
    names = [e[0].removeprefix("event: ") for e in events]
    assert names[:3] == ["context", "delta", "failover"]
    assert json.loads(events[2][1][6:]) == {"from": "megallm", "to": "openrouter"}
    text = "".join(json.loads(e[1][6:])["content"] for e in events if e[0] == "event: delta")
    assert text == REPLY
    assert names[-1] == "done"
    assert json.loads(events[-1][1][6:])["provider"] == "openrouter"
    metrics = client.get("/metrics").text
    assert 'vibecode_api_provider_failovers_total{phase="mid_stream",provider="openrouter"}' in (
        metrics
    )


def test_a_bad_request_goes_back_to_the_caller_unchanged(
    make_client: Any, fakes: list[Any]
) -> None:
    fakes[0].fake.fault = "400"
    client = chain(make_client, [fakes[0].url, fakes[1].url])
    r = client.post("/v1/chat/completions", json=CHAT, headers=ALICE)
    assert r.status_code == 400
    assert r.json() == {"error": {"message": "injected 400", "type": "fake_error", "code": 400}}
    assert fakes[1].fake.requests == 0


def test_when_every_provider_fails_the_502_lists_every_attempt(
    make_client: Any, fakes: list[Any]
) -> None:
    fakes[0].fake.fault, fakes[1].fake.fault = "503", "401"
    client = chain(make_client, [fakes[0].url, fakes[1].url, refused_url()])
    for stream in (False, True):
        r = client.post("/v1/chat/completions", json={**CHAT, "stream": stream}, headers=ALICE)
        assert r.status_code == 502
        body = r.json()
        assert body["error"] == "providers_unavailable"
        providers = [a["provider"] for a in body["attempts"]]
        assert set(providers) == {"megallm", "openrouter", "agentrouter"}
        assert {"provider": "openrouter", "status": 401, "error": "HTTP 401: injected 401"} in body[
            "attempts"
        ]


def test_a_provider_in_cooldown_receives_no_request_and_is_probed_after_it(
    make_client: Any, fakes: list[Any]
) -> None:
    fakes[0].fake.fault = "500"
    clock = ManualClock(1000.0)
    client = chain(
        make_client,
        [fakes[0].url, fakes[1].url],
        clock=clock,
        max_retries=3,
        provider_failure_threshold=3,
        provider_cooldown=30,
    )
    assert client.post("/v1/chat/completions", json=CHAT, headers=ALICE).status_code == 200
    assert fakes[0].fake.requests == 3  # tripped after the third failure, no fourth try
    health = client.get("/api/health").json()
    assert health["status"] == "degraded"
    primary = health["checks"]["provider"]["providers"][0]
    assert (primary["name"], primary["coolingDown"]) == ("megallm", True)
    assert primary["lastError"] == "HTTP 500: injected 500"
    clock.advance(29.9)
    for _ in range(5):
        r = client.post("/v1/chat/completions", json=CHAT, headers=ALICE)
        assert r.headers["x-vibe-provider"] == "openrouter"
    assert fakes[0].fake.requests == 3  # nothing sent while cooling down

    fakes[0].fake.fault = "none"
    clock.advance(0.1)
    assert not client.get("/api/health").json()["checks"]["provider"]["providers"][0]["coolingDown"]
    r = client.post("/v1/chat/completions", json=CHAT, headers=ALICE)
    assert r.headers["x-vibe-provider"] == "megallm"  # the half-open probe succeeded
    assert client.get("/api/health").json()["status"] == "healthy"


def test_a_request_whose_providers_all_hang_reports_every_timed_out_attempt(
    make_client: Any, fakes: list[Any]
) -> None:
    fakes[0].fake.fault = fakes[1].fake.fault = "hang"
    client = chain(make_client, [fakes[0].url, fakes[1].url], timeout=200, max_retries=1)
    r = client.post("/v1/chat/completions", json=CHAT, headers=ALICE)
    assert r.status_code == 502
    attempts = r.json()["attempts"]
    assert [a["provider"] for a in attempts] == ["megallm"] * 2 + ["openrouter"] * 2
    assert attempts[0]["error"] == "timed out after 0.2 s"
    # Backoff sleeps come out of the deadline too: a later attempt may find it already spent.
    assert all(
        a["error"].startswith("timed out after") or a["error"] == "request deadline reached"
        for a in attempts
    ), attempts


def test_no_attempt_starts_once_the_request_deadline_has_passed(
    make_settings: Any, fakes: list[Any]
) -> None:
    """The deadline is read from the gateway's clock, so a clock five times fast makes the first
    real 0.2 s timeout use up the whole 0.8 s budget, whatever the machine's load (a slower
    machine only moves the clock further): nothing more may be sent."""
    fakes[0].fake.fault = fakes[1].fake.fault = "hang"
    settings = make_settings(
        timeout=200,
        max_retries=1,
        megallm_api_key="key-megallm",
        megallm_base_url=fakes[0].url,
        openrouter_api_key="key-openrouter",
        openrouter_base_url=fakes[1].url,
    )

    async def run() -> list[dict[str, Any]]:
        gateway = Gateway(settings, clock=lambda: 5 * time.monotonic())
        try:
            await gateway.complete(CHAT)
        except ProvidersUnavailable as unavailable:
            return list(unavailable.attempts)
        finally:
            await gateway.aclose()
        raise AssertionError("a chain of hanging providers answered")

    attempts = anyio.run(run)
    assert [(a["provider"], a["error"]) for a in attempts] == [
        ("megallm", "timed out after 0.2 s"),
        ("megallm", "request deadline reached"),
        ("openrouter", "request deadline reached"),
    ]
    assert (fakes[0].fake.requests, fakes[1].fake.requests) == (1, 0)


def test_streams_and_plain_requests_run_one_chain_and_report_the_same_attempts(
    make_client: Any, fakes: list[Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """One chain runner: a stream's failures are logged and reported exactly as a plain
    request's are (the streaming copy of the loop logged none of them)."""
    fakes[0].fake.fault, fakes[1].fake.fault = "500", "503"
    client = chain(
        make_client,
        [fakes[0].url, fakes[1].url],
        max_retries=2,
        provider_failure_threshold=3,
        provider_cooldown=60,
    )
    seen, logged = {}, {}
    for stream in (False, True):
        capsys.readouterr()
        r = client.post("/v1/chat/completions", json={**CHAT, "stream": stream}, headers=ALICE)
        assert r.status_code == 502
        seen[stream] = [(a["provider"], a["error"]) for a in r.json()["attempts"]]
        logged[stream] = capsys.readouterr().out.count('"event": "provider_attempt_failed"')
    # Both breakers tripped during the plain request (three failures each) ...
    assert (
        seen[False]
        == [("megallm", "HTTP 500: injected 500")] * 3
        + [("openrouter", "HTTP 503: injected 503")] * 3
    )
    assert logged[False] == 6
    # ... so the stream finds both cooling down: two skipped attempts, nothing sent.
    assert seen[True] == [
        ("megallm", "cooling down after repeated failures"),
        ("openrouter", "cooling down after repeated failures"),
    ]
    assert logged[True] == 0
    fresh = chain(make_client, [fakes[0].url, fakes[1].url], max_retries=2)
    capsys.readouterr()
    r = fresh.post("/v1/chat/completions", json={**CHAT, "stream": True}, headers=ALICE)
    assert [(a["provider"], a["error"]) for a in r.json()["attempts"]] == seen[False]
    assert capsys.readouterr().out.count('"event": "provider_attempt_failed"') == 6


def test_embeddings_and_models(make_client: Any, fakes: list[Any]) -> None:
    client = chain(make_client, [fakes[0].url])
    r = client.post("/v1/embeddings", json={"input": ["a", "b"]}, headers=ALICE)
    assert r.status_code == 200
    assert [len(d["embedding"]) for d in r.json()["data"]] == [1536, 1536]
    models = client.get("/v1/models", headers=ALICE).json()
    assert [m["id"] for m in models["data"]] == [
        "qwen/qwen3-next-80b-a3b-instruct",
        "text-embedding-3-small",
    ]
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 401


def test_provider_metrics_count_attempts_and_failovers(make_client: Any, fakes: list[Any]) -> None:
    fakes[0].fake.fault = "502"
    client = chain(make_client, [fakes[0].url, fakes[1].url])
    client.post("/v1/chat/completions", json=CHAT, headers=ALICE)
    text = client.get("/metrics").text
    assert 'vibecode_api_provider_requests_total{outcome="failure",provider="megallm"}' in text
    assert (
        'vibecode_api_provider_failovers_total{phase="before_first_token",provider="openrouter"}'
        in text
    )
    assert 'vibecode_api_provider_latency_seconds_bucket{le="0.005",provider="openrouter"}' in text


def _openai(client: Any) -> Any:
    """The official OpenAI client, talking to the in-process app as ALICE."""
    from openai import OpenAI

    return OpenAI(
        base_url="http://testserver.local/v1",
        api_key="unused",
        http_client=client,
        default_headers=ALICE,
        max_retries=0,
    )


def test_the_official_openai_client_works_for_both_modes(
    make_client: Any, fakes: list[Any]
) -> None:
    client = chain(make_client, [fakes[0].url])
    openai = _openai(client)
    done = openai.chat.completions.create(model="any", messages=[{"role": "user", "content": "hi"}])
    assert done.choices[0].message.content == REPLY
    pieces = [
        c.choices[0].delta.content or ""
        for c in openai.chat.completions.create(
            model="any", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    ]
    assert "".join(pieces) == REPLY
    assert next(m.id for m in openai.models.list().data) == "qwen/qwen3-next-80b-a3b-instruct"
    vectors = openai.embeddings.create(model="e", input="hello")
    assert len(vectors.data[0].embedding) == 1536


def test_the_official_openai_client_sees_a_cut_stream_as_an_error_not_an_answer(
    make_client: Any, fakes: list[Any]
) -> None:
    """An upstream stream that ends cleanly after its first token but never finishes: the
    client raises instead of returning the half answer as if it were whole."""
    from openai import APIError

    fakes[0].fake.fault = "end_after_first_token"
    client = chain(make_client, [fakes[0].url])
    openai = _openai(client)
    pieces: list[str] = []

    def read() -> None:
        for c in openai.chat.completions.create(
            model="any", messages=[{"role": "user", "content": "hi"}], stream=True
        ):
            pieces.append(c.choices[0].delta.content or "")

    with pytest.raises(APIError, match="ended the stream before the answer was complete"):
        read()
    assert "".join(pieces) == "Hello"


def test_the_official_openai_client_reads_a_continued_stream_as_one_answer(
    make_client: Any, fakes: list[Any]
) -> None:
    fakes[0].fake.fault = "cut_after_first_token"
    client = chain(make_client, [fakes[0].url, fakes[1].url])
    openai = _openai(client)
    pieces = [
        c.choices[0].delta.content or ""
        for c in openai.chat.completions.create(
            model="any", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    ]
    assert "".join(pieces) == REPLY

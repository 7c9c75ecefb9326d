"""The hourly API-call limit: headers, 429, what counts, and the window's reset."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from vibecode_fakeprovider import FakeProvider, serve_in_thread

from .clocks import ManualClock
from .conftest import as_user

ALICE = as_user("alice")
CHAT = {"messages": [{"role": "user", "content": "hi"}]}
T0 = dt.datetime(2026, 11, 22, 10, 59, 30, tzinfo=dt.UTC).timestamp()


def test_every_api_call_counts_until_the_limit_then_429(make_client: Any) -> None:
    client = make_client(clock=ManualClock(T0))
    for i in range(100):
        r = client.get("/api/me", headers=ALICE)
        assert r.status_code == 200
        assert r.headers["ratelimit-limit"] == "100"
        assert r.headers["ratelimit-remaining"] == str(99 - i)
        assert r.headers["ratelimit-reset"] == "30"
    r = client.get("/api/workspaces", headers=ALICE)
    assert r.status_code == 429
    assert r.headers["retry-after"] == "30"
    assert (r.headers["ratelimit-limit"], r.headers["ratelimit-remaining"]) == ("100", "0")
    body = r.json()
    assert body["error"] == "rate_limited"
    assert (body["quota"], body["limit"], body["resetAt"]) == (
        "apiCallsPerHour",
        100,
        "2026-11-22T11:00:00+00:00",
    )
    # Other users, health and metrics are unaffected.
    assert client.get("/api/me", headers=as_user("bob")).status_code == 200
    assert client.get("/api/health").status_code == 200
    assert client.get("/api/monitoring/metrics").status_code == 200


def test_the_window_resets_when_it_says_it_will(make_client: Any) -> None:
    clock = ManualClock(T0)
    client = make_client(clock=clock)
    for _ in range(100):
        client.get("/api/me", headers=ALICE)
    limited = client.get("/api/me", headers=ALICE)
    assert limited.status_code == 429
    reset_at = dt.datetime.fromisoformat(limited.json()["resetAt"]).timestamp()
    clock.now = reset_at - 0.001
    assert client.get("/api/me", headers=ALICE).status_code == 429
    clock.now = reset_at
    r = client.get("/api/me", headers=ALICE)
    assert r.status_code == 200
    assert r.headers["ratelimit-remaining"] == "99"
    usage = client.get("/api/usage", headers=ALICE).json()["quotas"]["apiCallsPerHour"]
    assert usage == {
        "limit": 100,
        "used": 2,
        "remaining": 98,
        "resetAt": "2026-11-22T12:00:00+00:00",
    }


def test_premium_has_its_own_limit(client: Any) -> None:
    r = client.get("/api/me", headers=as_user("pat", "vibecode-premium"))
    assert r.headers["ratelimit-limit"] == "1000"


def test_a_refused_write_is_audited(make_client: Any) -> None:
    clock = ManualClock(T0)
    client = make_client(clock=clock)
    for _ in range(100):
        client.get("/api/me", headers=ALICE)
    assert client.post("/api/workspaces", json={"name": "x"}, headers=ALICE).status_code == 429
    clock.advance(3600)
    events = client.get("/api/audit", headers=ALICE).json()
    assert [(e["action"], e["outcome"]) for e in events] == [("api.call", "refused_rate_limit")]


@pytest.fixture
def fake() -> Iterator[Any]:
    running = serve_in_thread(FakeProvider(name="fake"))
    yield running
    running.stop()


def _relay(make_client: Any, url: str) -> Any:
    client = make_client(
        clock=ManualClock(T0), megallm_api_key="k", megallm_base_url=url, max_retries=0
    )
    return client


def _use_up(client: Any, calls: int) -> None:
    for _ in range(calls):
        assert client.get("/api/me", headers=ALICE).status_code == 200


def test_a_user_out_of_calls_costs_no_upstream_request(make_client: Any, fake: Any) -> None:
    """Relays overlap the count with their upstream call only when the user had calls to spare."""
    client = _relay(make_client, fake.url)
    r = client.post("/v1/chat/completions", json=CHAT, headers=ALICE)
    assert r.status_code == 200
    assert (r.headers["ratelimit-limit"], r.headers["ratelimit-remaining"]) == ("100", "99")
    _use_up(client, 99)
    sent = fake.fake.requests
    for body in (CHAT, {**CHAT, "stream": True}):
        refused = client.post("/v1/chat/completions", json=body, headers=ALICE)
        assert (refused.status_code, refused.json()["error"]) == (429, "rate_limited")
    assert client.post("/v1/embeddings", json={"input": "x"}, headers=ALICE).status_code == 429
    assert fake.fake.requests == sent


def test_a_bet_on_an_outdated_count_is_refused_and_its_upstream_call_cancelled(
    make_client: Any, fake: Any
) -> None:
    """Another process used up the user's calls since this one last counted: the overlapped
    upstream call must not turn into a 2xx."""
    a, b = _relay(make_client, fake.url), _relay(make_client, fake.url)
    _use_up(a, 50)
    _use_up(b, 50)
    for body in (CHAT, {**CHAT, "stream": True}):
        refused = a.post("/v1/chat/completions", json=body, headers=ALICE)
        assert (refused.status_code, refused.json()["error"]) == (429, "rate_limited")
        assert refused.headers["retry-after"] == "30"
    sent = _settled_count(fake)
    assert a.post("/v1/chat/completions", json=CHAT, headers=ALICE).status_code == 429
    assert _settled_count(fake) == sent  # it has learnt: no more bets this window


def test_an_offline_answer_waits_for_the_verdict_too(make_client: Any) -> None:
    client = make_client(clock=ManualClock(T0))
    _use_up(client, 100)
    r = client.post("/v1/chat/completions", json=CHAT, headers=ALICE)
    assert (r.status_code, r.json()["error"]) == (429, "rate_limited")


def _searching(make_client: Any, url: str) -> tuple[Any, str]:
    """A client whose search embeds its query through the (fake) provider, so every embedding
    is a request the fake counts; and a workspace with one file in it (2 calls used)."""
    client = make_client(
        clock=ManualClock(T0),
        embeddings="provider",
        megallm_api_key="k",
        megallm_base_url=url,
        max_retries=0,
    )
    ws = client.post("/api/workspaces", json={"name": "w"}, headers=ALICE).json()["id"]
    files = {"file": ("a.md", b"the backup runs nightly at two")}
    r = client.post(f"/api/workspaces/{ws}/files", files=files, headers=ALICE)
    assert r.status_code == 201, r.text
    return client, ws


def _search(client: Any, ws: str) -> Any:
    body = {"query": "when does the backup run?"}
    return client.post(f"/api/workspaces/{ws}/search", json=body, headers=ALICE)


def test_a_search_by_a_user_out_of_calls_embeds_nothing(make_client: Any, fake: Any) -> None:
    """Search embeds its query alongside the verdict only when the user had calls to spare."""
    client, ws = _searching(make_client, fake.url)
    ok = _search(client, ws)
    assert ok.status_code == 200, ok.text
    assert ok.json()["results"]
    _use_up(client, 97)
    sent = fake.fake.requests
    refused = _search(client, ws)
    assert (refused.status_code, refused.json()["error"]) == (429, "rate_limited")
    assert fake.fake.requests == sent


def test_a_search_betting_on_an_outdated_count_is_refused(make_client: Any, fake: Any) -> None:
    """Another process used up the user's calls: the search's overlapped embedding is discarded
    and the answer is the 429, never results."""
    a, ws = _searching(make_client, fake.url)
    b = make_client(clock=ManualClock(T0))
    _use_up(b, 98)
    sent = fake.fake.requests
    refused = _search(a, ws)
    assert (refused.status_code, refused.json()["error"]) == (429, "rate_limited")
    bet = _settled_count(fake)
    assert bet - sent <= 1  # the bet's embedding (if it went out before the verdict), discarded
    assert _search(a, ws).status_code == 429
    assert _settled_count(fake) == bet  # it has learnt: no more bets this window


def _settled_count(fake: Any) -> int:
    """The fake's request count once it has read what reached it before this question: a
    cancelled bet's embedding may still be in its socket when the 429 comes back."""
    stats = httpx.get(fake.url.removesuffix("/v1") + "/_stats").json()
    return int(stats["requests"])

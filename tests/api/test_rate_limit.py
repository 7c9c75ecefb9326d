"""The hourly API-call limit: headers, 429, what counts, and the window's reset."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .conftest import as_user

ALICE = as_user("alice")
T0 = dt.datetime(2026, 11, 22, 10, 59, 30, tzinfo=dt.UTC).timestamp()


def test_every_api_call_counts_until_the_limit_then_429(client: Any) -> None:
    client.app.state.clock = lambda: T0
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


def test_the_window_resets_when_it_says_it_will(client: Any) -> None:
    now = [T0]
    client.app.state.clock = lambda: now[0]
    for _ in range(100):
        client.get("/api/me", headers=ALICE)
    limited = client.get("/api/me", headers=ALICE)
    assert limited.status_code == 429
    reset_at = dt.datetime.fromisoformat(limited.json()["resetAt"]).timestamp()
    now[0] = reset_at - 0.001
    assert client.get("/api/me", headers=ALICE).status_code == 429
    now[0] = reset_at
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


def test_a_refused_write_is_audited(client: Any) -> None:
    client.app.state.clock = lambda: T0
    for _ in range(100):
        client.get("/api/me", headers=ALICE)
    assert client.post("/api/workspaces", json={"name": "x"}, headers=ALICE).status_code == 429
    client.app.state.clock = lambda: T0 + 3600
    events = client.get("/api/audit", headers=ALICE).json()
    assert [(e["action"], e["outcome"]) for e in events] == [("api.call", "refused_rate_limit")]

"""Quotas at their edge under concurrency, across two API processes sharing one database."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import as_user

CONCURRENCY = 50


@pytest.fixture
def two_apis(api_process: Any, database_url: str, tmp_path: Path) -> Any:
    never_ready = tmp_path / "fake-code-server"
    never_ready.write_text("#!/bin/sh\nexec sleep 600\n")  # a code-server that never answers
    never_ready.chmod(0o755)
    env = {
        "VIBE_DATABASE_URL": database_url,
        "VIBE_LOG_LEVEL": "warn",
        "VIBE_CODE_SERVER_BIN": str(never_ready),
    }
    apis = [api_process(env), api_process(env)]
    for api in apis:
        api.wait_ready()
    yield apis
    for api in apis:
        assert api.stop(signal.SIGTERM) == 0


async def _burst(
    apis: list[Any],
    method: str,
    path: str,
    headers: dict[str, str],
    json: Any = None,
    paths: list[str] | None = None,
) -> list[httpx.Response]:
    """CONCURRENCY requests at once, alternating between the processes."""
    async with httpx.AsyncClient(timeout=30) as client:
        return await asyncio.gather(
            *[
                client.request(
                    method,
                    apis[i % len(apis)].url + (paths[i] if paths else path),
                    headers=headers,
                    json=json(i) if callable(json) else json,
                )
                for i in range(CONCURRENCY)
            ]
        )


def test_workspace_quota_holds_under_a_cross_process_burst(two_apis: list[Any]) -> None:
    alice = as_user("alice")
    answers = asyncio.run(
        _burst(two_apis, "POST", "/api/workspaces", alice, json=lambda i: {"name": f"w{i}"})
    )
    assert Counter(r.status_code for r in answers) == {201: 10, 403: 40}
    assert all(r.json()["quota"] == "workspaces" for r in answers if r.status_code == 403)
    assert len(httpx.get(f"{two_apis[1].url}/api/workspaces", headers=alice).json()) == 10


def test_hourly_limit_holds_under_a_cross_process_burst(two_apis: list[Any]) -> None:
    bob = as_user("bob")
    with httpx.Client() as client:
        for i in range(75):
            assert client.get(f"{two_apis[i % 2].url}/api/me", headers=bob).status_code == 200
    answers = asyncio.run(_burst(two_apis, "GET", "/api/me", bob))
    assert Counter(r.status_code for r in answers) == {200: 25, 429: 25}
    assert all(r.headers["retry-after"] for r in answers if r.status_code == 429)


def test_concurrent_session_quota_holds_under_a_cross_process_burst(
    two_apis: list[Any],
) -> None:
    carol = as_user("carol")
    with httpx.Client() as client:
        ids = [
            client.post(
                f"{two_apis[0].url}/api/workspaces", json={"name": f"s{i}"}, headers=carol
            ).json()["id"]
            for i in range(10)
        ]
    paths = [f"/api/workspaces/{ids[i % 10]}/session" for i in range(CONCURRENCY)]
    answers = asyncio.run(_burst(two_apis, "POST", "", carol, paths=paths))
    assert {r.status_code for r in answers} <= {202, 403}, [
        r.text for r in answers if r.status_code == 503
    ][:3]
    with httpx.Client() as client:
        states = [
            client.get(f"{two_apis[1].url}/api/workspaces/{ws}/session", headers=carol).json()[
                "status"
            ]
            for ws in ids
        ]
    active = [s for s in states if s in ("loading", "starting", "ready")]
    assert len(active) == 3
    usage = httpx.get(f"{two_apis[0].url}/api/usage", headers=carol).json()["quotas"]
    assert usage["concurrentSessions"] == {"limit": 3, "used": 3, "remaining": 0}

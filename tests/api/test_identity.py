"""Identity: the auth proxy's headers count only from trusted peers; tiers and admins from groups."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import as_user


def test_no_identity_is_401_with_the_contract_body(client: Any) -> None:
    r = client.get("/api/me")
    assert r.status_code == 401
    assert r.json()["error"] == "unauthenticated"
    assert "Remote-User" in r.json()["detail"]


def test_proxy_headers_from_a_trusted_peer_identify_the_user(client: Any) -> None:
    r = client.get("/api/me", headers=as_user("alice", "devs", email="a@example.com"))
    assert r.status_code == 200
    assert r.json() == {
        "user": "alice",
        "email": "a@example.com",
        "name": "Alice",
        "groups": ["devs"],
        "tier": "free",
        "admin": False,
        "namespace": "user-alice",
    }


def test_a_header_spoofing_peer_outside_the_trusted_range_gets_401(make_client: Any) -> None:
    client = make_client(peer="203.0.113.7")
    r = client.get("/api/me", headers=as_user("alice", "vibecode-admins"))
    assert r.status_code == 401
    assert "VIBE_TRUSTED_PROXIES" in r.json()["detail"]
    assert (
        client.post("/api/workspaces", json={"name": "x"}, headers=as_user("alice")).status_code
        == 401
    )


def test_trusted_ranges_are_configurable(make_client: Any) -> None:
    client = make_client(peer="10.20.30.40", trusted_proxies="10.0.0.0/8")
    assert client.get("/api/me", headers=as_user("bob")).json()["user"] == "bob"


def test_groups_grant_premium_and_admin(client: Any) -> None:
    me = client.get("/api/me", headers=as_user("carol", "vibecode-premium", "vibecode-admins"))
    assert (me.json()["tier"], me.json()["admin"]) == ("premium", True)
    usage = client.get("/api/usage", headers=as_user("carol", "vibecode-premium")).json()
    assert usage["tier"] == "premium"
    assert usage["quotas"]["workspaces"]["limit"] == 50


def test_dev_user_acts_for_header_less_requests_from_trusted_peers_only(make_client: Any) -> None:
    client = make_client(dev_user="devin")
    assert client.get("/api/me").json()["user"] == "devin"
    assert client.get("/api/me", headers=as_user("erin")).json()["user"] == "erin"
    outsider = make_client(dev_user="devin", peer="198.51.100.1")
    assert outsider.get("/api/me").status_code == 401


def test_health_and_metrics_need_no_identity(client: Any) -> None:
    for path in (
        "/api/health",
        "/api/health/live",
        "/api/health/ready",
        "/api/monitoring/metrics",
        "/metrics",
    ):
        assert client.get(path).status_code == 200, path


def test_the_real_server_judges_the_tcp_peer_never_x_forwarded_for(
    api_process: Any, database_url: str
) -> None:
    """The server must not rewrite the peer from X-Forwarded-For (uvicorn's default does for
    loopback peers): the auth proxy is the peer, whatever address its client claims."""
    api = api_process({"VIBE_DATABASE_URL": database_url, "VIBE_DOGSTATSD": "false"})
    api.wait_ready()
    for claimed in ("203.0.113.9", "127.0.0.1"):
        headers = {**as_user("alice"), "X-Forwarded-For": claimed, "X-Forwarded-Proto": "https"}
        r = httpx.get(f"{api.url}/api/me", headers=headers)
        assert (r.status_code, r.json()["user"]) == (200, "alice")

"""Bearer tokens (shared/API.md "Tokens"): created and shown once, stored as a hash, accepted from
any peer, scoped to a workspace when asked, refused on the very next request once revoked or
expired — on every API process — and never written to a log."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
import psycopg

from .conftest import as_user

ALICE = as_user("alice", "vibecode-premium")
BOB = as_user("bob")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_token(client: Any, headers: dict[str, str] = ALICE, **body: Any) -> dict[str, Any]:
    r = client.post("/api/tokens", json={"name": "cli", **body}, headers=headers)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def test_a_token_is_shown_once_and_stored_only_as_its_hash(client: Any, database_url: str) -> None:
    created = new_token(client)
    token = created["token"]
    assert token.startswith("vibe_")
    assert len(token) >= len("vibe_") + 43  # 256 bits, base64url
    assert set(created) == {"id", "name", "token", "workspaceId", "createdAt", "expiresAt"}
    listed = client.get("/api/tokens", headers=ALICE).json()
    assert [t["id"] for t in listed] == [created["id"]]
    assert "token" not in listed[0]
    with psycopg.connect(database_url) as conn:
        stored = conn.execute("SELECT secret_sha256 FROM api_tokens").fetchall()
        everything = str(conn.execute("SELECT * FROM api_tokens").fetchall())
    assert stored == [(hashlib.sha256(token.encode()).digest(),)]
    assert token not in everything


def test_a_token_acts_as_its_user_from_any_peer_with_the_tier_the_proxy_last_showed(
    make_client: Any,
) -> None:
    inside = make_client()
    token = new_token(inside)["token"]
    outside = make_client(peer="203.0.113.7")
    me = outside.get("/api/me", headers=bearer(token))
    assert me.status_code == 200
    assert (me.json()["user"], me.json()["tier"]) == ("alice", "premium")
    # Proxy headers from the same untrusted peer are still nobody.
    assert outside.get("/api/me", headers=ALICE).status_code == 401
    for wrong in ("vibe_" + "x" * 43, "not-a-token", ""):
        r = outside.get("/api/me", headers=bearer(wrong))
        assert r.status_code == 401
        assert r.json()["error"] == "unauthenticated"


def test_a_trusted_proxy_identity_wins_over_a_token(client: Any) -> None:
    token = new_token(client)["token"]
    me = client.get("/api/me", headers={**BOB, **bearer(token)})
    assert me.json()["user"] == "bob"


def test_a_token_wins_over_the_dev_user(make_client: Any) -> None:
    client = make_client(dev_user="devin")
    token = new_token(client)["token"]
    assert client.get("/api/me").json()["user"] == "devin"
    assert client.get("/api/me", headers=bearer(token)).json()["user"] == "alice"


def test_a_workspace_token_reaches_its_workspace_only(client: Any) -> None:
    mine = client.post("/api/workspaces", json={"name": "mine"}, headers=ALICE).json()["id"]
    other = client.post("/api/workspaces", json={"name": "other"}, headers=ALICE).json()["id"]
    token = new_token(client, workspaceId=mine)["token"]
    scoped = bearer(token)
    assert client.get(f"/api/workspaces/{mine}", headers=scoped).status_code == 200
    up = client.post(
        f"/api/workspaces/{mine}/files", files={"file": ("a.md", b"# a\n")}, headers=scoped
    )
    assert up.status_code == 201
    for method, path in (
        ("GET", f"/api/workspaces/{other}"),
        ("GET", f"/api/workspaces/{other}/files"),
        ("DELETE", f"/api/workspaces/{other}/session"),
    ):
        assert client.request(method, path, headers=scoped).status_code == 404, path
    assert [w["id"] for w in client.get("/api/workspaces", headers=scoped).json()] == [mine]
    for method, path, body in (
        ("POST", "/api/workspaces", {"name": "more"}),
        ("DELETE", f"/api/workspaces/{mine}", None),
        ("POST", "/api/tokens", {"name": "another"}),
        ("GET", "/api/tokens", None),
    ):
        r = client.request(method, path, json=body, headers=scoped)
        assert (r.status_code, r.json()["error"]) == (403, "token_scope"), path
    # Someone else's workspace cannot be a token's scope.
    bobs = client.post("/api/workspaces", json={"name": "b"}, headers=BOB).json()["id"]
    r = client.post("/api/tokens", json={"name": "x", "workspaceId": bobs}, headers=ALICE)
    assert r.status_code == 404


def test_revoked_and_expired_tokens_are_refused_on_the_next_request(
    client: Any, database_url: str
) -> None:
    created = new_token(client)
    assert client.get("/api/me", headers=bearer(created["token"])).status_code == 200
    assert client.delete(f"/api/tokens/{created['id']}", headers=BOB).status_code == 404
    assert client.delete(f"/api/tokens/{created['id']}", headers=ALICE).status_code == 204
    assert client.get("/api/me", headers=bearer(created["token"])).status_code == 401
    assert client.get("/api/tokens", headers=ALICE).json() == []

    expiring = new_token(client, expiresInDays=1)
    assert expiring["expiresAt"] is not None
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "UPDATE api_tokens SET expires_at = now() - interval '1 second' WHERE id = %s",
            (expiring["id"],),
        )
    assert client.get("/api/me", headers=bearer(expiring["token"])).status_code == 401
    r = client.post("/api/tokens", json={"name": "x", "expiresInDays": 0}, headers=ALICE)
    assert r.status_code == 400


def test_audit_rows_name_the_token_and_last_use_is_recorded(client: Any) -> None:
    created = new_token(client)
    r = client.post("/api/workspaces", json={"name": "by-token"}, headers=bearer(created["token"]))
    assert r.status_code == 201
    events = client.get("/api/audit", headers=ALICE).json()
    made = next(e for e in events if e["action"] == "workspace.create")
    assert (made["actor"], made["tokenId"]) == ("alice", created["id"])
    minted = next(e for e in events if e["action"] == "token.create")
    assert (minted["target"], minted["tokenId"]) == (created["id"], "")
    used = client.get("/api/tokens", headers=ALICE).json()[0]["lastUsedAt"]
    assert used is not None


def test_revocation_holds_at_once_on_every_api_process_and_no_log_shows_a_token(
    api_process: Any, database_url: str
) -> None:
    env = {"VIBE_DATABASE_URL": database_url, "VIBE_DOGSTATSD": "false", "VIBE_SAMPLES": "false"}
    one, two = api_process(env), api_process(env)
    one.wait_ready(60)
    two.wait_ready(60)
    created = httpx.post(f"{one.url}/api/tokens", json={"name": "ci"}, headers=ALICE).json()
    token = created["token"]
    for api in (one, two):
        assert httpx.get(f"{api.url}/api/me", headers=bearer(token)).status_code == 200
    revoked = httpx.delete(f"{one.url}/api/tokens/{created['id']}", headers=ALICE)
    assert revoked.status_code == 204
    assert httpx.get(f"{two.url}/api/me", headers=bearer(token)).status_code == 401
    assert httpx.get(f"{one.url}/api/me", headers=bearer(token)).status_code == 401
    for api in (one, two):
        api.stop()
        assert token not in api.output()
        assert token[len("vibe_") :] not in api.output()

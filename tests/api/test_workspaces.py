"""Workspaces: create, list, read, delete; isolation between users; refusals with their bodies."""

from __future__ import annotations

from typing import Any

import pytest
from vibecode_core.tenancy import workspace_namespace

from .conftest import as_user

ALICE, BOB = as_user("alice"), as_user("bob")


def test_create_list_read_delete(client: Any) -> None:
    r = client.post("/api/workspaces", json={"name": "My Project"}, headers=ALICE)
    assert r.status_code == 201
    ws = r.json()
    assert set(ws) == {"id", "name", "namespace", "createdAt"}
    assert ws["name"] == "My Project"
    assert ws["namespace"] == workspace_namespace("alice", ws["id"])
    assert ws["namespace"] == f"user-alice-ws-{ws['id']}"

    listed = client.get("/api/workspaces", headers=ALICE).json()
    assert [w["id"] for w in listed] == [ws["id"]]
    assert listed[0]["session"] == "stopped"
    assert client.get(f"/api/workspaces/{ws['id']}", headers=ALICE).json() == ws

    assert client.delete(f"/api/workspaces/{ws['id']}", headers=ALICE).status_code == 204
    assert client.get(f"/api/workspaces/{ws['id']}", headers=ALICE).status_code == 404
    assert client.get("/api/workspaces", headers=ALICE).json() == []


def test_another_users_workspace_does_not_exist_for_you(client: Any) -> None:
    ws = client.post("/api/workspaces", json={"name": "secret"}, headers=ALICE).json()
    for method, path in [
        ("GET", f"/api/workspaces/{ws['id']}"),
        ("DELETE", f"/api/workspaces/{ws['id']}"),
        ("POST", f"/api/workspaces/{ws['id']}/session"),
        ("GET", f"/api/workspaces/{ws['id']}/session"),
        ("DELETE", f"/api/workspaces/{ws['id']}/session"),
    ]:
        r = client.request(method, path, headers=BOB)
        assert r.status_code == 404, (method, path)
        assert r.json()["error"] == "not_found"
    assert client.get("/api/workspaces", headers=BOB).json() == []
    assert client.get(f"/api/workspaces/{ws['id']}", headers=ALICE).status_code == 200


def test_the_same_name_twice_is_a_conflict_but_not_across_users(client: Any) -> None:
    assert client.post("/api/workspaces", json={"name": "app"}, headers=ALICE).status_code == 201
    r = client.post("/api/workspaces", json={"name": "app"}, headers=ALICE)
    assert (r.status_code, r.json()["error"]) == (409, "conflict")
    assert client.post("/api/workspaces", json={"name": "app"}, headers=BOB).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 65},
        {"name": "tab\there"},
        {"name": 5},
        {"name": "ok", "extra": 1},
    ],
)
def test_invalid_names_are_refused(client: Any, body: dict[str, Any]) -> None:
    r = client.post("/api/workspaces", json=body, headers=ALICE)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_input"
    assert r.json()["detail"]


def test_the_workspace_quota_refuses_whole_and_is_audited(client: Any) -> None:
    for i in range(10):
        assert (
            client.post("/api/workspaces", json={"name": f"w{i}"}, headers=ALICE).status_code == 201
        )
    r = client.post("/api/workspaces", json={"name": "one-too-many"}, headers=ALICE)
    assert r.status_code == 403
    assert r.json() | {"detail": ""} == {
        "error": "quota_exceeded",
        "detail": "",
        "quota": "workspaces",
        "limit": 10,
        "used": 11,
    }
    assert "free tier allows 10" in r.json()["detail"]
    assert len(client.get("/api/workspaces", headers=ALICE).json()) == 10
    events = client.get("/api/audit", headers=ALICE).json()
    assert events[0]["action"] == "quota.check"
    assert events[0]["outcome"] == "refused_quota"
    assert events[0]["target"] == "workspaces"
    usage = client.get("/api/usage", headers=ALICE).json()["quotas"]["workspaces"]
    assert usage == {"limit": 10, "used": 10, "remaining": 0}


def test_audit_shows_your_own_events_and_admins_see_all(client: Any) -> None:
    client.post("/api/workspaces", json={"name": "a"}, headers=ALICE)
    client.post("/api/workspaces", json={"name": "b"}, headers=BOB)
    mine = client.get("/api/audit", headers=ALICE).json()
    assert {e["actor"] for e in mine} == {"alice"}
    assert [e["action"] for e in mine] == ["workspace.create"]
    admin = client.get("/api/audit", headers=as_user("root", "vibecode-admins")).json()
    assert {"alice", "bob"} <= {e["actor"] for e in admin}


def test_dry_run_blocks_workspace_writes(make_client: Any) -> None:
    client = make_client(dry_run=True)
    r = client.post("/api/workspaces", json={"name": "x"}, headers=ALICE)
    assert (r.status_code, r.json()["error"]) == (403, "dry_run")
    assert client.get("/api/workspaces", headers=ALICE).json() == []

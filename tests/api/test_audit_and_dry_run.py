"""The audit writer and the dry-run switch, on a trivial audited write route."""

from __future__ import annotations

from typing import Any

from .routes_for_tests import HANDLERS


def test_a_write_is_audited_with_its_request_id(make_client: Any) -> None:
    client = make_client(extra_handlers=HANDLERS)
    r = client.post("/test/notes", json={"title": "hello"}, headers={"X-Request-ID": "req-1"})
    assert r.status_code == 201
    assert client.get("/test/audit").json() == [
        {
            "actor": "anonymous",
            "action": "note.create",
            "target": "hello",
            "outcome": "success",
            "request_id": "req-1",
        }
    ]


def test_dry_run_blocks_the_write_and_records_the_attempt(make_client: Any) -> None:
    client = make_client(extra_handlers=HANDLERS, dry_run=True)
    r = client.post("/test/notes", json={"title": "hello"})
    assert r.status_code == 403
    body = r.json()
    assert body["error"] == "dry_run"
    assert "VIBE_DRY_RUN" in body["detail"]
    events = client.get("/test/audit").json()
    assert [(e["action"], e["outcome"]) for e in events] == [("note.create", "blocked_dry_run")]


def test_dry_run_leaves_reads_alone(make_client: Any) -> None:
    client = make_client(extra_handlers=HANDLERS, dry_run=True)
    assert client.get("/api/health").status_code == 200
    assert client.get("/test/audit").status_code == 200


def test_audit_off_records_nothing(make_client: Any) -> None:
    client = make_client(extra_handlers=HANDLERS, audit=False, dry_run=True)
    assert client.post("/test/notes", json={"title": "x"}).status_code == 403
    client2 = make_client(extra_handlers=HANDLERS, audit=False)
    assert client2.post("/test/notes", json={"title": "y"}).status_code == 201
    assert client2.get("/test/audit").json() == []

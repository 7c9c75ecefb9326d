"""What the OpenAPI document promises, checked quickly in-process (the schemathesis run in
test_openapi_contract.py checks that the API keeps those promises)."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from litestar.testing import TestClient

from ..conftest import as_user

ALICE = as_user("alice", "vibecode-premium")
WRITES = {
    "createWorkspace",
    "deleteWorkspace",
    "startSession",
    "stopSession",
    "uploadFile",
    "deleteFile",
}


def _doc(client: TestClient[Litestar]) -> dict[str, Any]:
    r = client.get("/schema/openapi.json")
    assert r.status_code == 200
    doc: dict[str, Any] = r.json()
    return doc


def test_every_gated_operation_documents_what_admission_can_answer(
    client: TestClient[Litestar],
) -> None:
    doc = _doc(client)
    for path, item in doc["paths"].items():
        if not path.startswith(("/api/workspaces", "/api/me", "/api/usage", "/v1/")):
            continue
        for method, op in item.items():
            statuses = set(op["responses"])
            assert {"400", "401", "429", "503"} <= statuses, (method, path, statuses)
            if op["operationId"] in WRITES:  # VIBE_DRY_RUN refuses them with 403 dry_run
                assert "403" in statuses, (method, path)
            for status, answer in op["responses"].items():
                if status.startswith(("4", "5")):
                    schema = answer.get("content", {}).get("application/json", {}).get("schema")
                    assert schema is not None, (method, path, status)
    limited = doc["paths"]["/api/workspaces"]["get"]["responses"]["429"]
    assert set(limited["headers"]) == {
        "Retry-After",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
    }


def test_request_bodies_are_described_as_their_validators_see_them(
    client: TestClient[Litestar],
) -> None:
    schemas = _doc(client)["components"]["schemas"]
    assert schemas["WorkspaceCreate"]["additionalProperties"] is False
    assert "pattern" in schemas["WorkspaceCreate"]["properties"]["name"]
    threshold = schemas["SearchRequest"]["properties"]["threshold"]
    number = next(s for s in threshold["anyOf"] if s.get("type") == "number")
    assert (number["minimum"], number["maximum"]) == (0, 1)  # Litestar 2 dropped the 0
    assert schemas["ChatRequest"]["additionalProperties"] is False


def test_created_resources_link_to_the_operations_that_take_their_id(
    client: TestClient[Litestar],
) -> None:
    paths = _doc(client)["paths"]
    links = paths["/api/workspaces"]["post"]["responses"]["201"]["links"]
    assert links["ReadWorkspace"] == {
        "operationId": "readWorkspace",
        "parameters": {"workspace_id": "$response.body#/id"},
    }
    upload = paths["/api/workspaces/{workspace_id}/files"]["post"]["responses"]
    assert upload["201"]["links"]["DeleteFile"]["parameters"]["file_id"] == "$response.body#/id"
    chat = paths["/api/chat"]["post"]["responses"]["200"]["content"]
    assert set(chat) == {"application/json", "text/event-stream"}


def test_options_names_every_method_of_the_path(client: TestClient[Litestar]) -> None:
    r = client.options("/api/workspaces/anything", headers=ALICE)
    assert r.status_code == 204
    assert r.headers["allow"] == "DELETE, GET, OPTIONS"
    r = client.options("/api/workspaces/anything/session", headers=ALICE)
    assert r.headers["allow"] == "DELETE, GET, OPTIONS, POST"


def test_a_body_is_validated_as_strictly_as_its_schema_says(client: TestClient[Litestar]) -> None:
    r = client.post(
        "/api/chat",
        json={"messages": [{"role": "user", "content": "hi"}], "stream": 0},
        headers=ALICE,
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_input"
    ws = client.post("/api/workspaces", json={"name": "docs"}, headers=ALICE).json()["id"]
    r = client.post(
        f"/api/workspaces/{ws}/search", json={"query": "deploy", "topK": 3.0}, headers=ALICE
    )
    assert r.status_code == 200  # JSON Schema's integer includes 3.0
    r = client.post("/api/workspaces", json={"name": "tab\there"}, headers=ALICE)
    assert r.status_code == 400

"""The OpenAPI document, made to describe the API as it answers (`/schema/openapi.json`).

Litestar writes the document from the handlers: paths, parameters, success answers (from the
TypedDicts in `views.py`) and the error answers each route declares with `refusals`. What it
cannot know from there is finished here, once, on the JSON it serves:

- the answers every gated route can give before its handler runs (admission: 400 for a bad
  identity header, 401, 429 with its headers, 403 `dry_run` on writes, 503 while the database is
  away), decided by the same predicate admission uses;
- request bodies as their validator sees them: pydantic's own JSON Schema replaces Litestar 2's
  rendering, which drops `extra="forbid"` (additionalProperties) and any bound of 0;
- the `text/event-stream` alternative of the answers that stream;
- links from a created workspace or file to the operations that take its id, so a client (or
  schemathesis's stateful phase) can follow them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from litestar import Litestar
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.routes import HTTPRoute
from pydantic import BaseModel

from ..admission import is_gated
from ..views import ErrorBody

EVENT_STREAM = "event_stream"
"""A handler `opt` key: its 200 may also be `text/event-stream` (the request asked to stream);
the value is the schema of one event (OpenAPI 3.1 has `schema` describe each event)."""

OPENAI_EVENTS = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "type": "string",
            "description": "a chat.completion.chunk as JSON; `[DONE]` ends a complete answer; "
            "an `error` object ends one that no provider could finish",
        }
    },
}
CHAT_EVENTS = {
    "type": "object",
    "required": ["event", "data"],
    "properties": {
        "event": {"enum": ["context", "delta", "failover", "done", "error"]},
        "data": {"type": "string", "description": "the event's JSON (shared/API.md)"},
    },
}

_ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorBody"}
_RATE_HEADERS = ("Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


def refusals(described: Mapping[int, str]) -> dict[int, ResponseSpec]:
    """A route's own error answers, each with the one error shape (`errors.py`)."""
    return {
        status: ResponseSpec(ErrorBody, description=text, generate_examples=False)
        for status, text in described.items()
    }


_ADMISSION = {
    400: "invalid input: the body, a parameter or an identity header (`problems` says where)",
    401: "no identity: neither the auth proxy's headers from a trusted peer nor a token",
    429: "the tier's hourly API calls are used up (`quota`, `limit`, `used`, `resetAt`)",
    503: "the database is unreachable (`database_unavailable`, with Retry-After)",
}
_DRY_RUN = "`dry_run`: VIBE_DRY_RUN=true blocks every write"

# operationId → the links of its success answer: (status, name, target operationId, parameters)
_LINKS: dict[str, list[tuple[str, str, str, dict[str, str]]]] = {
    "createWorkspace": [
        ("201", name, target, {"workspace_id": "$response.body#/id"})
        for name, target in (
            ("ReadWorkspace", "readWorkspace"),
            ("DeleteWorkspace", "deleteWorkspace"),
            ("ListFiles", "listFiles"),
            ("UploadFile", "uploadFile"),
            ("Search", "searchWorkspace"),
            ("StartSession", "startSession"),
            ("ReadSession", "readSession"),
            ("StopSession", "stopSession"),
        )
    ],
    "createToken": [("201", "RevokeToken", "revokeToken", {"token_id": "$response.body#/id"})],
    "uploadFile": [
        (
            status,
            "DeleteFile",
            "deleteFile",
            {"workspace_id": "$request.path.workspace_id", "file_id": "$response.body#/id"},
        )
        for status in ("200", "201")
    ],
}


def _error(description: str, headers: tuple[str, ...] = ()) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": _ERROR_SCHEMA}},
    }
    if headers:
        answer["headers"] = {h: {"schema": {"type": "integer"}} for h in headers}
    return answer


def _add(responses: dict[str, Any], status: int, answer: dict[str, Any]) -> None:
    """Add an answer; a status the route documents already keeps its own description too."""
    key = str(status)
    if key in responses and "content" in responses[key]:
        mine = responses[key]["description"]
        if answer["description"] not in mine:
            answer = {**answer, "description": f"{mine}; or {answer['description']}"}
    responses[key] = answer


def _pydantic_body(handler: Any) -> type[BaseModel] | None:
    data = handler.parsed_fn_signature.parameters.get("data")
    model = getattr(data, "annotation", None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def finish(app: Litestar, doc: dict[str, Any]) -> dict[str, Any]:
    """The served document: Litestar's, completed as the module docstring says."""
    doc = copy.deepcopy(doc)
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    # Litestar wrote it from the TypedDict, which every route's `refusals` name.
    schemas["ErrorBody"]["description"] = ErrorBody.__doc__
    doc["components"]["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "vibe_ token (POST /api/tokens)",
            "description": "A token acts as its user from any peer. Browsers need none: behind "
            "the ingress, the auth proxy (Authelia) identifies them with Remote-* headers, "
            "which count only from trusted peers and win over a token.",
        }
    }
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                op = doc["paths"].get(route.path_format, {}).get(method.lower())
                if op is not None:  # None: not in the document (a page, an asset, /metrics)
                    _complete(op, handler, route.path_format, schemas)
    return doc


def _complete(op: dict[str, Any], handler: Any, path: str, schemas: dict[str, Any]) -> None:
    responses: dict[str, Any] = op["responses"]
    litestar_400 = responses.get("400", {}).get("content", {}).get("application/json", {})
    if litestar_400 and litestar_400["schema"] != _ERROR_SCHEMA:
        del responses["400"]  # Litestar's ValidationException shape; ours is ErrorBody
    if "400" not in responses and ("parameters" in op or "requestBody" in op):
        _add(responses, 400, _error(_ADMISSION[400]))
    if is_gated(path):
        op["security"] = [{"bearer": []}]
        for status, text in _ADMISSION.items():
            _add(responses, status, _error(text, _RATE_HEADERS if status == 429 else ()))
        if handler.opt.get("audit"):
            _add(responses, 403, _error(_DRY_RUN))
    model = _pydantic_body(handler)
    if model is not None:
        body = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(body.pop("$defs", {}))
        schemas[model.__name__] = body
        op["requestBody"]["content"] = {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
        }
    if event := handler.opt.get(EVENT_STREAM):
        responses["200"].setdefault("content", {})["text/event-stream"] = {"schema": event}
    for answer, name, target, parameters in _LINKS.get(op.get("operationId", ""), []):
        responses[answer].setdefault("links", {})[name] = {
            "operationId": target,
            "parameters": parameters,
        }


class _FinishedJson(JsonRenderPlugin):
    """`/schema/openapi.json`: the finished document (built on the first request, then kept)."""

    def __init__(self) -> None:
        super().__init__()
        self._finished: bytes | None = None

    def render(self, request: Any, openapi_schema: dict[str, Any]) -> bytes:
        if self._finished is None:
            self._finished = super().render(request, finish(request.app, openapi_schema))
        return self._finished


def config(title: str, version: str) -> OpenAPIConfig:
    """The document's settings: Swagger UI at `/schema`, the JSON at `/schema/openapi.json`."""
    return OpenAPIConfig(
        title=title,
        version=version,
        path="/schema",
        render_plugins=[_FinishedJson(), SwaggerRenderPlugin(path="/")],
        create_examples=False,
    )

"""The one error shape of the API: `{"error": code, "detail": text, ...}`, never a stack trace.

Handlers raise `ApiError` (or a subclass) with a machine code, a sentence for humans, and any extra
fields the contract names (`quota`, `limit`, `used`, `attempts`, …). Framework errors (validation,
unknown routes, wrong methods) and infrastructure failures (database down) are mapped onto the same
shape here, once.
"""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from psycopg_pool import PoolTimeout

from .logs import get_logger

log = get_logger(__name__)

_CODES = {
    400: "invalid_input",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "unavailable",
}


class ApiError(Exception):
    """An error the client should see as-is."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "detail": self.detail, **self.extra}


class GatewayError(Exception):
    """A failure of the provider chain, in the gateway's own terms (no HTTP status): mapped to
    HTTP once, below (`EXCEPTION_HANDLERS`), or by a surface that passes upstreams through."""


class ProvidersUnavailable(GatewayError):
    """No provider of the chain could answer; `attempts` says what each one did."""

    def __init__(self, attempts: list[dict[str, Any]], detail: str | None = None) -> None:
        self.attempts = attempts
        self.detail = detail or (
            f"no provider could answer after {len(attempts)} attempt(s); "
            "see attempts for each provider's failure"
        )
        super().__init__(self.detail)


class UpstreamRejected(GatewayError):
    """The provider refused the request itself (400, 422, …): the caller gets it unchanged."""

    def __init__(self, provider: str, status: int, body: bytes, content_type: str) -> None:
        super().__init__(f"{provider} answered {status}")
        self.provider = provider
        self.status = status
        self.body = body
        self.content_type = content_type


class StreamBroken(GatewayError):
    """A stream failed after its first event: too late to fail over, so its end is an error."""


class DatabaseUnavailable(ApiError):
    def __init__(self, detail: str = "the database is unreachable; retry shortly") -> None:
        super().__init__(
            HTTP_503_SERVICE_UNAVAILABLE,
            "database_unavailable",
            detail,
            headers={"Retry-After": "5"},
        )


async def send_error(send: Any, err: ApiError) -> None:
    """The error's response (the exception handlers' shape) straight onto an ASGI `send`: for
    middleware that learns of the error only when a handler's own answer is already on its way."""
    body = msgspec.json.encode(err.body())
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *((name.lower().encode(), value.encode()) for name, value in err.headers.items()),
    ]
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _respond(err: ApiError) -> Response[dict[str, Any]]:
    return Response(
        err.body(), status_code=err.status, headers=err.headers, media_type=MediaType.JSON
    )


def _api_error(_: Request[Any, Any, Any], exc: ApiError) -> Response[dict[str, Any]]:
    return _respond(exc)


def _validation(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    problems = exc.extra if isinstance(exc.extra, list) else []
    parts = []
    for p in problems:
        if isinstance(p, dict):
            where = p.get("key") or p.get("source") or "body"
            parts.append(f"{where}: {p.get('message', 'invalid')}")
    detail = "; ".join(parts) or str(exc.detail)
    return _respond(ApiError(HTTP_400_BAD_REQUEST, "invalid_input", detail, problems=problems))


def _http(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    code = _CODES.get(status, "error")
    return _respond(ApiError(status, code, str(exc.detail), headers=dict(exc.headers or {})))


def _providers_unavailable(
    _: Request[Any, Any, Any], exc: ProvidersUnavailable
) -> Response[dict[str, Any]]:
    return _respond(ApiError(502, "providers_unavailable", exc.detail, attempts=exc.attempts))


def _database(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.warning("database_unavailable", path=request.url.path, error=type(exc).__name__)
    return _respond(DatabaseUnavailable())


def _internal(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.error("unhandled_error", path=request.url.path, exc_info=exc)
    return _respond(
        ApiError(
            HTTP_500_INTERNAL_SERVER_ERROR,
            "internal_error",
            "an unexpected error occurred; it has been logged",
        )
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    ApiError: _api_error,
    ProvidersUnavailable: _providers_unavailable,
    ValidationException: _validation,
    HTTPException: _http,
    PoolTimeout: _database,
    psycopg.OperationalError: _database,
    Exception: _internal,
}

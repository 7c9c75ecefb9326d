"""Outbound HTTP (the provider gateway, the embedder client): one pooled transport for each of
them, requests sent on it directly.

The transport is httpx's interface over aiohttp's connection pool, which takes about half the
CPU per request of httpx's own (docs/benchmarks.md). Requests skip `httpx.AsyncClient`: its
cookie jar, auth and redirect layers do nothing for these calls but cost the gateway CPU,
and wrap every response in a stream that refers back to it, a reference cycle per call that only
the garbage collector frees (its pauses were the gateway's p99 under load).
"""

from __future__ import annotations

from typing import Any

import httpx
from httpx_aiohttp import AiohttpTransport

from . import __version__

USER_AGENT = f"vibecode/{__version__}"


def pooled_transport(
    max_connections: int = 100, max_keepalive: int = 20
) -> httpx.AsyncBaseTransport:
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_keepalive)
    return AiohttpTransport(limits=limits, trust_env=False)


async def open_response(
    transport: httpx.AsyncBaseTransport,
    method: str,
    url: httpx.URL | str,
    seconds: float,
    json: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Send one request; the response's body is not read yet (stream it, or `read_response`).
    Raises httpx.TransportError when no answer came."""
    request = httpx.Request(
        method,
        url,
        json=json,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})},
        extensions={"timeout": httpx.Timeout(seconds).as_dict()},
    )
    return await transport.handle_async_request(request)


async def read_response(response: httpx.Response) -> httpx.Response:
    """The whole body, then the connection back to the pool (also when reading fails)."""
    try:
        await response.aread()
    finally:
        await response.aclose()
    return response

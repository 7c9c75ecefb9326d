"""Serving an ASGI app factory: uvicorn, with httptools and uvloop; the API and the embedder both.

uvicorn, not granian, by measurement (docs/benchmarks.md). granian answers a trivial route
faster, but it does its I/O on a Rust thread and hands each request's body to the event loop
across threads; under load that wake-up was most of the gateway's overhead. uvicorn parses in
the loop's own thread, so the body is there when the handler asks: on the chat path it adds less
overhead than granian and carries more requests per second (`make bench`, gateway and api_core;
the figures are in docs/benchmarks.md).
"""

from __future__ import annotations

import signal
from types import FrameType

import uvicorn

from . import logs


class _Stopped(Exception):
    """SIGINT or SIGTERM, after uvicorn's graceful shutdown: a clean exit for our caller."""


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise _Stopped


def run(
    target: str,
    *,
    host: str,
    port: int,
    fd: int | None = None,
    workers: int = 1,
    level: str = "warn",
    graceful_seconds: int | None = None,
) -> None:
    """Serve `target` ("module:factory") until SIGINT or SIGTERM, then return once in-flight
    requests have finished (at most `graceful_seconds`) and the app's shutdown has run. With
    `fd`, serve on that inherited listening socket instead of binding `host`:`port`."""
    # uvicorn re-raises the stopping signal after its shutdown; these handlers turn it into a
    # return, so that the caller's clean-up (the embedded database) runs and the exit code is 0.
    previous = {sig: signal.signal(sig, _stopped) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        uvicorn.run(
            target,
            factory=True,
            host=host,
            port=port,
            fd=fd,
            workers=workers,
            loop="auto",  # uvloop when installed (it is a dependency)
            http="auto",  # httptools when installed (it is a dependency)
            lifespan="on",
            log_config=logs.server_log_config(level),
            access_log=False,  # our middleware writes one line per request
            # Identity trusts the TCP peer only (API.md): never rewrite it from X-Forwarded-For.
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=graceful_seconds,
        )
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

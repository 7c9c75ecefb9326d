"""A factory for a real server that also has a slow route, to watch shutdown drain it."""

from __future__ import annotations

import anyio
from litestar import Litestar, get
from vibecode_api.app import create_app
from vibecode_api.settings import load_settings


@get("/test/slow")
async def slow(seconds: float = 1.0) -> dict[str, str]:
    await anyio.sleep(seconds)
    return {"status": "finished"}


def create() -> Litestar:
    return create_app(load_settings(), [slow])

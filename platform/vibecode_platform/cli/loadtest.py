"""`vibe loadtest URL`: the Locust suite of `loadtests/` against a running deployment."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .errors import CliError


def run(
    root: Path, url: str, *, users: int, duration: str, out: Path, on_output: Callable[[str], None]
) -> int:
    try:
        from vibecode_loadtests.run import locust
    except ImportError:
        raise CliError(
            "the load tests are not installed: run `make dev` (or `uv sync --all-packages`) "
            f"in {root}"
        ) from None
    return locust(url, users=users, duration=duration, out=out, on_output=on_output)

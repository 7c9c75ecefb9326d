"""Work started now and awaited later, or not at all (the caller may answer 404 first)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def started(work: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """`work` as a task, queued behind what the loop already has; its error, if nobody awaits
    it, is dropped quietly instead of logged as "never retrieved"."""
    task = asyncio.ensure_future(work)
    task.add_done_callback(_retrieved)
    return task


def _retrieved(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()

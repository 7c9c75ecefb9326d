"""The API's one source of time, given to `create_app` so that tests and replays can set it
instead of waiting for it (or patching `time`)."""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    def time(self) -> float:
        """Wall-clock seconds since the epoch: hourly quota windows and their reset times."""
        ...

    def monotonic(self) -> float:
        """Seconds that never go back: request deadlines and provider cooldowns."""
        ...


class SystemClock:
    """The machine's clocks."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM_CLOCK: Clock = SystemClock()

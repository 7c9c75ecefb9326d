"""A clock the test sets: `create_app(..., clock=ManualClock(t))` instead of waiting for time."""

from __future__ import annotations


class ManualClock:
    """Both of the API's clocks (`vibecode_api.clock.Clock`), standing still until told."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

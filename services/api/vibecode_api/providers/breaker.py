"""Cooldown (a circuit breaker) per provider.

After `threshold` consecutive failures a provider is skipped for `cooldown` seconds, so a dead
primary costs nothing per request once it is detected. When the window ends one request probes it
(half-open): success closes the breaker, failure reopens it for another window.

Defaults: 3 failures (LiteLLM's `allowed_fails`), but a 10 s window rather than LiteLLM's 5 s:
with a half-open probe only one request pays for re-testing a dead provider, and a provider that
fails three times in a row is rarely back within seconds, so a longer window wastes fewer probes.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class Breaker:
    def __init__(
        self,
        threshold: int = 3,
        cooldown: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.clock = clock
        self.failures = 0
        self.open_until = 0.0
        self.probing = False
        self.last_error: str | None = None

    @property
    def state(self) -> str:
        if self.open_until == 0.0:
            return "closed"
        return "open" if self.clock() < self.open_until else "half-open"

    def allow(self) -> bool:
        """May a request go to this provider now? (Claims the half-open probe if it is due.)"""
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self.probing:
            self.probing = True
            return True
        return False

    def success(self) -> None:
        self.failures = 0
        self.open_until = 0.0
        self.probing = False

    def failure(self, error: str) -> None:
        self.failures += 1
        self.last_error = error
        if self.probing or self.failures >= self.threshold:
            self.open_until = self.clock() + self.cooldown
            self.probing = False

    @property
    def tripped(self) -> bool:
        return self.open_until != 0.0 and self.clock() < self.open_until

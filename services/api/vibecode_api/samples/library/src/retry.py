"""Retry with exponential backoff and full jitter, the way our gateway calls providers."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

MAX_RETRIES = 3
BASE_DELAY_SECONDS = 0.25
MAX_DELAY_SECONDS = 4.0


def backoff(attempt: int) -> float:
    """Full jitter: a random delay between 0 and the exponential cap for this attempt."""
    cap = min(MAX_DELAY_SECONDS, BASE_DELAY_SECONDS * 2**attempt)
    return random.uniform(0, cap)


def with_retries(call: Callable[[], T], retryable: Callable[[Exception], bool]) -> T:
    """Run `call`, retrying what can succeed on retry (timeouts, 429, 5xx) MAX_RETRIES times."""
    for attempt in range(MAX_RETRIES + 1):
        try:
            return call()
        except Exception as err:
            if attempt == MAX_RETRIES or not retryable(err):
                raise
            time.sleep(backoff(attempt))
    raise AssertionError("unreachable")

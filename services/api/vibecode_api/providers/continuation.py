"""How a broken answer is asked to go on: the conversation plus the partial answer, first as the
assistant's prefix (prefill), and for models that refuse a prefill with a 400 (LiteLLM's issue
27967) quoted in a user turn instead. Pure functions of the request; `resumable.py` uses them."""

from __future__ import annotations

from typing import Any

INSTRUCTION = (
    "Your previous answer was cut off. Continue it exactly where it stops, without repeating "
    "any of it and without any preamble."
)
QUOTE_OPEN, QUOTE_CLOSE = "<<<ANSWER SO FAR", "ANSWER SO FAR>>>"


def prefilled(payload: dict[str, Any], partial: str) -> dict[str, Any]:
    messages = [
        *payload["messages"],
        {"role": "system", "content": INSTRUCTION},
        {"role": "assistant", "content": partial},
    ]
    return {**payload, "messages": messages}


def quoted(payload: dict[str, Any], partial: str) -> dict[str, Any]:
    turn = f"{INSTRUCTION}\n\n{QUOTE_OPEN}\n{partial}\n{QUOTE_CLOSE}"
    return {**payload, "messages": [*payload["messages"], {"role": "user", "content": turn}]}


def overlap(partial: str, continued: str, least: int = 8) -> int:
    """How many leading characters of `continued` repeat the end of `partial` (a model asked to
    continue often restates the last words): the longest such run of at least `least`
    characters (or all of a shorter `partial`), else 0 — a short coincidence is left alone."""
    need = min(least, len(partial))
    for k in range(min(len(partial), len(continued)), max(need, 1) - 1, -1):
        if partial.endswith(continued[:k]):
            return k
    return 0

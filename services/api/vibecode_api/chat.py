"""Chat: the assistant's answer through the provider chain, or plainly offline.

`/api/chat` and `/v1/chat/completions` share this module. The RAG issue adds retrieved context
(cited, numbered sources) in `context_for`; until then `context` is always empty.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any, cast

from .errors import StreamBroken
from .providers import Gateway
from .providers.resumable import ResumableStream, Switch
from .views import CitationView

OFFLINE_ANSWER = (
    "Offline mode: no AI provider is configured (set MEGALLM_API_KEY, OPENROUTER_API_KEY, "
    "AGENTROUTER_API_KEY or ROUTEWAY_API_KEY), so there is no generated answer."
)


def overhead_ms(scope: Any, upstream_ms: float) -> str:
    """Time spent in our code for this request so far, the upstream's own time excluded."""
    started = scope.get("state", {}).get("started", time.perf_counter())
    total = (time.perf_counter() - started) * 1000
    return f"{max(0.0, total - upstream_ms):.3f}"


def offline_completion(model: str, content: str = OFFLINE_ANSWER) -> dict[str, Any]:
    return {
        "id": "chatcmpl-offline",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "vibecode-offline",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
    }


async def offline_stream(model: str, content: str = OFFLINE_ANSWER) -> AsyncIterator[bytes]:
    base = {
        "id": "chatcmpl-offline",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }
    for delta, finish in (({"role": "assistant", "content": content}, None), ({}, "stop")):
        chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        yield f"data: {json.dumps(chunk)}\n\n".encode()
    yield b"data: [DONE]\n\n"


def content_of(completion: dict[str, Any]) -> str:
    try:
        return str(completion["choices"][0]["message"]["content"] or "")
    except (KeyError, IndexError, TypeError):
        return ""


def delta_of(event: bytes) -> str | None:
    """The text of one upstream SSE event (None for [DONE] or events without text)."""
    text = event.decode("utf-8", "replace").strip()
    if not text.startswith("data:"):
        return None
    data = text[5:].strip()
    if data == "[DONE]":
        return None
    try:
        chunk = json.loads(data)
        return chunk["choices"][0]["delta"].get("content") or None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


def sse(event: str, data: Any) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n".encode()


def model_of(gateway: Gateway, requested: str | None) -> str:
    return requested or gateway.model


def with_provider(event: bytes, provider: str) -> bytes:
    """An upstream chunk marked with the provider that answers from here on (`/v1`'s sign of a
    mid-stream continuation: an extra top-level field OpenAI clients ignore)."""
    text = event.decode("utf-8", "replace").strip()
    if not text.startswith("data:") or text[5:].strip() == "[DONE]":
        return event
    try:
        chunk = json.loads(text[5:])
    except ValueError:
        return event
    return f"data: {json.dumps({**chunk, 'provider': provider})}\n\n".encode()


def openai_error_event(provider: str, message: str) -> bytes:
    """How an OpenAI-style stream ends when the provider fails after its first token."""
    error = {"error": {"message": message, "type": "provider_error", "provider": provider}}
    return f"data: {json.dumps(error)}\n\n".encode()


async def api_offline_events(
    context: list[CitationView], answer: str, model: str
) -> AsyncIterator[bytes]:
    yield sse("context", context)
    yield sse("delta", {"content": answer})
    yield sse(
        "done",
        {
            "provider": "offline",
            "model": model,
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        },
    )


async def api_events(
    context: list[CitationView], upstream: ResumableStream, model: str
) -> AsyncIterator[bytes]:
    """`/api/chat` events from an upstream OpenAI stream: context, delta…, done | error."""

    yield sse("context", context)
    try:
        async for event in upstream.events():
            if isinstance(event, Switch):  # continued on the next provider, same answer
                yield sse("failover", {"from": event.source, "to": event.target})
            elif (text := delta_of(event)) is not None:
                yield sse("delta", {"content": text})
        yield sse("done", {"provider": upstream.provider, "model": model})
    except StreamBroken as err:
        yield sse(
            "error", {"error": "provider_failed", "provider": upstream.provider, "detail": str(err)}
        )
    finally:
        await upstream.close()


NO_CONTEXT_NOTE = "(The workspace's files could not be searched just now, so this answer has no context from them.)"


def citations(hits: list[Any]) -> list[CitationView]:
    """The `context` of a chat answer: numbered sources, as the prompt numbered them."""
    # cast: mypy does not type a TypedDict unpacked into a dict display
    return [cast(CitationView, {"n": i, **hit.public()}) for i, hit in enumerate(hits, start=1)]


def with_sources(messages: list[dict[str, Any]], hits: list[Any]) -> list[dict[str, Any]]:
    """The prompt: a system message with numbered sources, then the conversation."""
    if not hits:
        return messages
    sources = "\n\n".join(
        f"[{i}] {h.path} (lines {h.start_line}-{h.end_line})\n{h.text}"
        for i, h in enumerate(hits, start=1)
    )
    system = (
        "You are VibeCode's assistant. Answer from the sources below, which come from the "
        "user's own workspace files, and cite them as [n]. If they do not contain the "
        "answer, say so.\n\nSources:\n\n" + sources
    )
    return [{"role": "system", "content": system}, *messages]


def offline_answer(hits: list[Any], searched: bool) -> str:
    """Offline mode with retrieval: the passages themselves, clearly labelled — never an
    invented answer."""
    if not hits:
        extra = "" if searched else " " + NO_CONTEXT_NOTE
        return OFFLINE_ANSWER + " No passage of your files matched the question." + extra
    lines = [OFFLINE_ANSWER, "", "Retrieved passages from your files (not a generated answer):"]
    for i, h in enumerate(hits, start=1):
        lines += ["", f"[{i}] {h.path}, lines {h.start_line}-{h.end_line}:", h.text]
    return "\n".join(lines)

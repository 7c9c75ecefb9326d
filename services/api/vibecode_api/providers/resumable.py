"""A stream that outlives its provider: when the upstream fails after the first token, the same
answer goes on in the same response on the next provider (`Gateway.resume`), the text it repeats
at the seam dropped, and a `Switch` marks where it changed hands. The continuation's first events
are held back only while their text could still be a restatement (it occurs in the answer so
far): a continuation that does not repeat itself passes at once. Only when no provider can
continue does the original failure (`StreamBroken`) reach the caller."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from ..errors import GatewayError, StreamBroken
from ..logs import get_logger
from . import metrics
from .continuation import overlap
from .gateway import Gateway, Stream

log = get_logger(__name__)


@dataclass(frozen=True)
class Switch:
    """The answer moves from provider `source` to `target` here."""

    source: str
    target: str


class ResumableStream:
    def __init__(self, gateway: Gateway, payload: dict[str, Any], first: Stream) -> None:
        self.gateway, self.payload, self.current = gateway, payload, first
        self.providers = [first.provider]

    @property
    def provider(self) -> str:
        """The provider answering now (the last one, once the stream has ended)."""
        return self.current.provider

    @property
    def upstream_ms(self) -> float:
        return self.current.upstream_ms

    async def events(self) -> AsyncIterator[bytes | Switch]:
        answer: list[str] = []
        seam: str | None = None  # the answer so far, while a continuation's start is held
        while True:
            held: list[bytes] = []
            try:
                async for event in self.current.events():
                    if seam is None:
                        answer.extend(_texts(event))
                        yield event
                        continue
                    held.append(event)
                    if "".join(t for e in held for t in _texts(e)) not in seam:
                        # No longer a possible restatement of the answer so far: decide the seam.
                        for out in _trimmed(held, seam):
                            answer.extend(_texts(out))
                            yield out
                        held, seam = [], None
                for out in _trimmed(held, seam) if seam is not None else []:
                    answer.extend(_texts(out))
                    yield out
                return
            except StreamBroken as broken:
                await self.current.close()
                failed = self.current.provider
                partial = "".join(answer)
                try:
                    nxt = await self.gateway.resume(self.payload, partial, after=failed)
                except GatewayError:
                    raise broken from None
                metrics.failover(nxt.provider, phase="mid_stream")
                log.warning("stream_continued", source=failed, target=nxt.provider)
                self.current, seam = nxt, partial
                self.providers.append(nxt.provider)
                yield Switch(failed, nxt.provider)

    async def close(self) -> None:
        await self.current.close()


def _chunks(event: bytes) -> list[Any]:
    out = []
    for line in event.splitlines():
        if line.startswith(b"data:") and line[5:].strip() != b"[DONE]":
            try:
                out.append(json.loads(line[5:]))
            except ValueError:
                continue
    return out


def _texts(event: bytes) -> list[str]:
    return [
        c["choices"][0]["delta"].get("content") or ""
        for c in _chunks(event)
        if isinstance(c, dict)
        and c.get("choices")
        and isinstance(c["choices"][0], dict)
        and isinstance(c["choices"][0].get("delta"), dict)
    ]


def _trimmed(held: list[bytes], partial: str) -> list[bytes]:
    """`held` with the text its start repeats of `partial` removed."""
    text = "".join(t for e in held for t in _texts(e))
    drop = overlap(partial, text)
    if not drop:
        return held
    out = []
    for event in held:
        chunks = _chunks(event)
        if drop <= 0 or not chunks:
            out.append(event)
            continue
        for chunk in chunks:
            delta = chunk["choices"][0].get("delta") if chunk.get("choices") else None
            if isinstance(delta, dict) and delta.get("content") and drop > 0:
                content = delta["content"]
                delta["content"], drop = content[drop:], drop - len(content[:drop])
        out.append(b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks))
    return out

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

    @property
    def provider(self) -> str:
        """The provider answering now (the last one, once the stream has ended)."""
        return self.current.provider

    async def events(self) -> AsyncIterator[bytes | Switch]:
        committed = ""  # the answer as the client has it, from the streams before this one
        seam: str | None = None  # that answer, while a continuation's first events are held
        while True:
            stream, held, passed, dropped = self.current, [], 0, 0
            try:
                async for event in stream.events():  # `stream.texts` grows with each event
                    if seam is None:
                        passed += 1
                        yield event
                        continue
                    held.append(event)
                    text = "".join(stream.texts[passed:])
                    if text not in seam:  # no longer a possible restatement: decide the seam
                        out, dropped = _trimmed(held, text, seam)
                        passed, held, seam = passed + len(held), [], None
                        for event in out:
                            yield event
                if held and seam is not None:  # it ended while still held
                    out, dropped = _trimmed(held, "".join(stream.texts[passed:]), seam)
                    passed += len(held)
                    for event in out:
                        yield event
                return
            except StreamBroken as broken:
                await stream.close()
                partial = committed + "".join(stream.texts[:passed])[dropped:]
                try:
                    nxt = await self.gateway.resume(self.payload, partial, after=stream.provider)
                except GatewayError:
                    raise broken from None
                metrics.failover(nxt.provider, phase="mid_stream")
                log.warning("stream_continued", source=stream.provider, target=nxt.provider)
                self.current, committed, seam = nxt, partial, partial
                yield Switch(stream.provider, nxt.provider)

    async def close(self) -> None:
        await self.current.close()


def _trimmed(held: list[bytes], text: str, partial: str) -> tuple[list[bytes], int]:
    """`held` (whose text is `text`) without what its start restates of `partial`, and how many
    characters that was. Rewrites chunks only when there is something to drop."""
    drop = overlap(partial, text)
    if not drop:
        return held, 0
    out, left = [], drop
    for event in held:
        chunks = [
            json.loads(line[5:])
            for line in event.splitlines()
            if line.startswith(b"data:") and line[5:].strip() != b"[DONE]"
        ]
        if left <= 0 or not chunks:
            out.append(event)
            continue
        for chunk in chunks:
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") if isinstance(choice, dict) else None
                if isinstance(delta, dict) and isinstance(delta.get("content"), str) and left:
                    content = delta["content"]
                    delta["content"], left = content[left:], left - min(left, len(content))
        out.append(b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks))
    return out, drop

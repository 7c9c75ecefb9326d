"""Upload scanning with clamd's INSTREAM command (`VIBE_CLAMD_URL`), before anything is stored.

The protocol is four lines of framing (`zINSTREAM\\0`, then chunks each behind its 4-byte
big-endian length, then a zero length; one reply line), so it is spoken here over asyncio
streams: the PyPI clients are synchronous (`clamd`) or unmaintained, and this is the upload
path. clamd's StreamMaxLength must allow our largest upload (the premium tier's file size)."""

from __future__ import annotations

import asyncio
import struct

import anyio

CHUNK = 64 * 1024


class ScannerUnavailable(Exception):
    """clamd could not be reached or did not answer: what the upload may do is the setting's."""


class Scanner:
    def __init__(self, url: str, timeout_ms: int) -> None:
        self.url = url
        self.timeout = timeout_ms / 1000

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.url.startswith("tcp://"):
            host, _, port = self.url[len("tcp://") :].rpartition(":")
            return await asyncio.open_connection(host, int(port))
        return await asyncio.open_unix_connection(self.url.removeprefix("unix://"))

    async def scan(self, data: bytes) -> str | None:
        """The signature clamd found in `data`, or None when it is clean."""
        try:
            with anyio.fail_after(self.timeout):
                reader, writer = await self._open()
                try:
                    writer.write(b"zINSTREAM\0")
                    for start in range(0, len(data), CHUNK):
                        piece = data[start : start + CHUNK]
                        writer.write(struct.pack(">I", len(piece)) + piece)
                        await writer.drain()
                    writer.write(struct.pack(">I", 0))
                    await writer.drain()
                    reply = (await reader.readuntil(b"\0")).rstrip(b"\0").decode()
                finally:
                    writer.close()
        except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as err:
            raise ScannerUnavailable(f"clamd at {self.url}: {type(err).__name__}") from None
        # "stream: OK", "stream: <signature> FOUND", or "<why> ERROR" (e.g. size limit exceeded)
        verdict = reply.removeprefix("stream:").strip()
        if verdict == "OK":
            return None
        if verdict.endswith(" FOUND"):
            return verdict.removesuffix(" FOUND")
        raise ScannerUnavailable(f"clamd at {self.url} could not scan the upload: {verdict}")

"""The server. Imports nothing of VibeCode's and nothing outside the standard library."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import random
import socket
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

FAULTS = (
    "none",
    "hang",
    "500",
    "502",
    "503",
    "429",
    "401",
    "400",
    "reset",
    "malformed",
    "cut_before_first_token",
    "cut_after_first_token",
    "end_after_first_token",
    "malformed_after_first_token",
    "stall_after_first_token",
)
"""What a request can be made to suffer. `refused` is simply a port nobody listens on."""

REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


@dataclass
class FakeProvider:
    """Settings of one fake provider; change them while it runs."""

    name: str = "fake"
    latency_ms: float = 0.0
    """time before the first byte of a response"""
    latency_jitter_ms: float = 0.0
    """each request's latency is drawn uniformly from `latency_ms` ± this (never below 0), so
    that concurrent clients drift apart as they would against a real model"""
    tokens_per_second: float = 0.0
    """streaming pace; 0 sends all tokens at once"""
    reply: str = "Hello from the fake provider."
    fault: str = "none"
    fail_times: int = 0
    """apply `fault` to the first N requests only (0: to every request)"""
    retry_after: int = 1
    rejects_prefill: bool = False
    """answer 400 to a conversation that ends with an assistant turn (some models do)"""
    repeat_at_seam: int = 0
    """when asked to continue a cut answer, restate this many of its last characters first"""
    embedding_dims: int = 1536
    requests: int = 0
    paths: list[str] = field(default_factory=list)
    _faulted: int = 0

    def delay(self) -> float:
        """Seconds to wait before this request's response."""
        jitter = self.latency_jitter_ms
        ms = self.latency_ms + (random.uniform(-jitter, jitter) if jitter else 0.0)  # noqa: S311
        return max(0.0, ms) / 1000

    def fault_for(self, header: str | None) -> str:
        if header:
            return header
        if self.fault == "none":
            return "none"
        if self.fail_times and self._faulted >= self.fail_times:
            return "none"
        self._faulted += 1
        return self.fault


def _response(
    status: int,
    body: bytes,
    content_type: str = "application/json",
    extra: dict[str, str] | None = None,
) -> bytes:
    headers = [
        f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: keep-alive",
    ]
    headers += [f"{k}: {v}" for k, v in (extra or {}).items()]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


def _error(status: int, message: str, extra: dict[str, str] | None = None) -> bytes:
    body = json.dumps({"error": {"message": message, "type": "fake_error", "code": status}})
    return _response(status, body.encode(), extra=extra)


def embed(text: str, dims: int) -> list[float]:
    """A deterministic unit vector per text (not semantic: for plumbing, not for relevance)."""
    out: list[float] = []
    counter = 0
    while len(out) < dims:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        out.extend(v / 2**31 - 1.0 for v in struct.unpack("<8I", digest))
        counter += 1
    vec = out[:dims]
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


QUOTE_OPEN, QUOTE_CLOSE = "<<<ANSWER SO FAR\n", "\nANSWER SO FAR>>>"
"""How VibeCode's gateway quotes a cut answer for models that refuse a prefill."""


def _continuing(reply: str, last: dict[str, Any], repeat: int) -> str:
    """The rest of `reply` when the request asks to continue a cut answer of it (as an assistant
    prefill or quoted in a user turn), restating `repeat` characters; else `reply` itself."""
    content = str(last.get("content") or "")
    partial = None
    if last.get("role") == "assistant":
        partial = content
    elif QUOTE_OPEN in content and QUOTE_CLOSE in content:
        partial = content.split(QUOTE_OPEN, 1)[1].split(QUOTE_CLOSE, 1)[0]
    if partial is None or not reply.startswith(partial):
        return reply
    return reply[max(0, len(partial) - repeat) :]


def _words(text: str) -> Iterator[str]:
    parts = text.split(" ")
    for i, word in enumerate(parts):
        yield word if i == 0 else " " + word


class _Handler:
    def __init__(self, fake: FakeProvider) -> None:
        self.fake = fake

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            while True:
                request = await self._read(reader)
                if request is None:
                    return
                keep = await self._handle(*request, writer)
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _read(
        self, reader: asyncio.StreamReader
    ) -> tuple[str, str, dict[str, str], bytes] | None:
        line = await reader.readline()
        if not line:
            return None
        method, path, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while (h := await reader.readline()) not in (b"\r\n", b"\n", b""):
            key, _, value = h.decode("latin-1").partition(":")
            headers[key.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
        return method, path, headers, body

    async def _handle(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        writer: asyncio.StreamWriter,
    ) -> bool:
        fake = self.fake
        if path == "/_stats":
            writer.write(
                _response(
                    200,
                    json.dumps(
                        {"name": fake.name, "requests": fake.requests, "paths": fake.paths}
                    ).encode(),
                )
            )
            return True
        fake.requests += 1
        fake.paths.append(path)
        fault = fake.fault_for(headers.get("x-fake-fault"))
        delay = fake.delay()
        if delay:
            await asyncio.sleep(delay)
        if fault == "hang":
            await asyncio.sleep(3600)
        if fault in ("500", "502", "503", "400", "401"):
            writer.write(_error(int(fault), f"injected {fault}"))
            return True
        if fault == "429":
            writer.write(_error(429, "slow down", {"Retry-After": str(fake.retry_after)}))
            return True
        if fault == "reset":
            self._reset(writer)
            return False
        started = time.perf_counter()
        if method == "GET" and path.endswith("/models"):
            writer.write(
                _response(
                    200,
                    json.dumps(
                        {
                            "object": "list",
                            "data": [
                                {
                                    "id": "fake-model",
                                    "object": "model",
                                    "created": 0,
                                    "owned_by": fake.name,
                                }
                            ],
                        }
                    ).encode(),
                )
            )
            return True
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            writer.write(_error(400, "request body is not JSON"))
            return True
        if path.endswith("/embeddings"):
            inputs = payload.get("input", [])
            inputs = [inputs] if isinstance(inputs, str) else inputs
            data = [
                {
                    "object": "embedding",
                    "index": i,
                    "embedding": embed(
                        str(t), int(payload.get("dimensions") or fake.embedding_dims)
                    ),
                }
                for i, t in enumerate(inputs)
            ]
            writer.write(
                _response(
                    200,
                    json.dumps(
                        {
                            "object": "list",
                            "data": data,
                            "model": payload.get("model", "fake-embed"),
                            "usage": {"prompt_tokens": len(inputs), "total_tokens": len(inputs)},
                        }
                    ).encode(),
                )
            )
            return True
        if not path.endswith("/chat/completions"):
            writer.write(_error(404, f"no route {path}"))
            return True
        model = payload.get("model", "fake-model")
        messages = payload.get("messages") or [{}]
        if fake.rejects_prefill and messages[-1].get("role") == "assistant":
            writer.write(_error(400, "assistant prefill is not supported by this model"))
            return True
        reply = _continuing(fake.reply, messages[-1], fake.repeat_at_seam)
        if fault == "malformed":
            writer.write(_response(200, b'{"id": "x", "choices": [ {'))
            return True
        if payload.get("stream"):
            return await self._stream(writer, model, fault, started, reply)
        message = {"role": "assistant", "content": reply}
        writer.write(
            _response(
                200,
                json.dumps(
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": model,
                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                        "usage": {
                            "prompt_tokens": 5,
                            "completion_tokens": len(fake.reply.split()),
                            "total_tokens": 5 + len(fake.reply.split()),
                        },
                    }
                ).encode(),
                extra={"X-Fake-Duration-Ms": f"{(time.perf_counter() - started) * 1000:.3f}"},
            )
        )
        return True

    async def _stream(
        self, writer: asyncio.StreamWriter, model: str, fault: str, started: float, reply: str
    ) -> bool:
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        writer.write(head)
        if fault == "cut_before_first_token":
            await writer.drain()
            self._reset(writer)
            return False

        def event(data: str) -> bytes:
            payload = f"data: {data}\n\n".encode()
            return f"{len(payload):x}\r\n".encode() + payload + b"\r\n"

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return event(
                json.dumps(
                    {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion.chunk",
                        "created": int(time.time()),
                        "model": model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                    }
                )
            )

        writer.write(chunk({"role": "assistant", "content": ""}))
        pause = 1 / self.fake.tokens_per_second if self.fake.tokens_per_second else 0
        for i, word in enumerate(_words(reply)):
            writer.write(chunk({"content": word}))
            await writer.drain()
            if i == 0 and fault == "cut_after_first_token":
                # Closed mid-body (FIN, no final chunk): unlike a reset, it cannot overtake the
                # token already sent, so the cut always comes after the first token.
                writer.close()
                return False
            if i == 0 and fault == "end_after_first_token":  # a clean end, but no answer's end
                writer.write(b"0\r\n\r\n")
                await writer.drain()
                return True
            if i == 0 and fault == "malformed_after_first_token":
                writer.write(event('{"choices": [{"delta": {"content": "half'))
            if i == 0 and fault == "stall_after_first_token":
                await asyncio.sleep(3600)
            if pause:
                await asyncio.sleep(pause)
        writer.write(chunk({}, "stop") + event("[DONE]") + b"0\r\n\r\n")
        await writer.drain()
        return True

    @staticmethod
    def _reset(writer: asyncio.StreamWriter) -> None:
        """Abort with RST, as a crashing upstream or a dropped connection would."""
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()


async def serve(
    fake: FakeProvider,
    host: str = "127.0.0.1",
    port: int = 0,
    ready: threading.Event | None = None,
    bound: list[int] | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Serve on `host`:`port`, or on `sock` when given (a listening socket handed over)."""
    if sock is not None:
        server = await asyncio.start_server(_Handler(fake), sock=sock)
    else:
        server = await asyncio.start_server(_Handler(fake), host, port)
    if bound is not None:
        bound.append(server.sockets[0].getsockname()[1])
    if ready is not None:
        ready.set()
    async with server:
        await server.serve_forever()


class Running:
    """A fake provider serving from a background thread; `url` is its `/v1` base URL."""

    def __init__(self, fake: FakeProvider, port: int = 0) -> None:
        self.fake = fake
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._bound: list[int] = []
        self._task: asyncio.Task[None] | None = None
        self._thread = threading.Thread(
            target=self._run, args=(port,), name=f"fakeprovider-{fake.name}", daemon=True
        )
        self._thread.start()
        if not self._started.wait(10):
            raise RuntimeError("the fake provider did not start")
        self.port = self._bound[0]
        self.url = f"http://127.0.0.1:{self.port}/v1"

    def _run(self, port: int) -> None:
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(
            serve(self.fake, port=port, ready=self._started, bound=self._bound)
        )
        with contextlib.suppress(asyncio.CancelledError):
            self._loop.run_until_complete(self._task)
        # Let the connection handlers see their cancellation before the loop goes away.
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    def stop(self) -> None:
        if self._task is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._task.cancel)
        self._thread.join(10)


def serve_in_thread(fake: FakeProvider | None = None, port: int = 0) -> Running:
    return Running(fake or FakeProvider(), port)

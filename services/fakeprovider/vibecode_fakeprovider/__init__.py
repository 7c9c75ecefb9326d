"""A fake OpenAI-compatible provider: a real HTTP server on loopback that can be told to fail.

It speaks just enough HTTP/1.1 (on asyncio streams, so it can also break the protocol on purpose:
reset a connection mid-body, send malformed JSON, cut a stream) for `/v1/chat/completions`
(plain and streaming), `/v1/embeddings` and `/v1/models`. Faults are set per instance
(`FakeProvider(fault=...)`) and per request (header `X-Fake-Fault`), so one test can run a chain
of differently broken providers. `GET /_stats` reports how many requests it has seen.
"""

from .server import FAULTS, FakeProvider, serve_in_thread

__all__ = ["FAULTS", "FakeProvider", "serve_in_thread"]

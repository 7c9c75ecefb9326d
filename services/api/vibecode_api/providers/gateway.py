"""The failover chain: retry ▸ backoff ▸ next provider, for plain and streaming requests.

Per attempt: `VIBE_TIMEOUT`. Per provider: `VIBE_MAX_RETRIES` retries of what can succeed on retry —
refused connections at once (they cost nothing and a restarting upstream comes back), timeouts,
408, 429 and 5xx after exponential backoff with full jitter, or after the upstream's
`Retry-After` when it sends one (capped by the timeout). 401/403 move straight to the next
provider; any other 4xx goes back to the caller unchanged. Per request: a deadline equal to every
attempt's timeout added up, which backoff sleeps also come out of. A provider in cooldown
(`Breaker`) is skipped without a request.

Streaming is passed through event by event, never buffered. Until the first event arrives a
failure is retried and failed over like any other; after it, a failure (or an idle gap longer
than the timeout) ends the stream with an error event naming the provider.

One chain runner (`_chain`) serves plain and streaming calls alike: each kind only says what one
attempt is. Failures are the gateway's own exceptions (`errors.GatewayError`); `errors.py` maps
them to HTTP once.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import httpx
import msgspec

from .. import outbound
from ..errors import ProvidersUnavailable, StreamBroken, UpstreamRejected
from ..logs import get_logger
from ..settings import Settings
from . import continuation, metrics
from .breaker import Breaker

log = get_logger(__name__)

BACKOFF_BASE = 0.25
RETRYABLE_STATUS = {408, 429}
T = TypeVar("T")


@dataclass
class Provider:
    name: str
    base_url: str
    key: str
    breaker: Breaker
    _urls: dict[str, httpx.URL] = field(default_factory=dict, repr=False)

    def url(self, path: str) -> httpx.URL:
        """The endpoint's URL, parsed once: httpx re-parses a string on every request."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = httpx.URL(self.base_url + path)
        return url


@dataclass
class Attempt:
    provider: str
    status: int | None
    error: str

    def public(self) -> dict[str, Any]:
        return {"provider": self.provider, "status": self.status, "error": self.error}


@dataclass
class Result:
    provider: str
    body: Any
    upstream_ms: float
    attempts: list[Attempt] = field(default_factory=list)


@dataclass
class Stream:
    """An upstream stream that has delivered its first event (`first`), ready to pass on."""

    provider: str
    first: list[bytes]
    rest: AsyncIterator[bytes]
    upstream_ms: float
    attempts: list[Attempt]
    close: Callable[[], Any]
    texts: list[str] = field(default_factory=list)
    """the answer's text so far, one piece per event passed on (what a continuation resumes)"""

    async def events(self) -> AsyncIterator[bytes]:
        """Every event in order, the first one included. Raises StreamBroken mid-way: when the
        upstream breaks, stalls, sends a malformed chunk (which is not passed on) or ends
        without its terminal marker — a half answer is never presented as a whole one."""
        finished = False
        for event in self.first:
            finished = _inspect(event, self.provider, self.texts) or finished
            yield event
        async for event in self.rest:
            finished = _inspect(event, self.provider, self.texts) or finished
            yield event
        if not finished:
            raise StreamBroken(
                f"{self.provider} ended the stream before the answer was complete "
                "(no finish_reason, no end-of-stream marker)"
            )


class _Retry(Exception):
    """One attempt failed in a way worth retrying on the same provider."""

    def __init__(self, attempt: Attempt, wait: float | None = None, now: bool = False) -> None:
        super().__init__(attempt.error)
        self.attempt, self.wait, self.now = attempt, wait, now


class _NextProvider(Exception):
    def __init__(self, attempt: Attempt) -> None:
        super().__init__(attempt.error)
        self.attempt = attempt


def _transport_failure(provider: Provider, err: httpx.TransportError, seconds: float) -> _Retry:
    """A request that got no answer: refused connections are retried at once, the rest after
    backoff."""
    if isinstance(err, httpx.ConnectError):
        return _Retry(Attempt(provider.name, None, f"connection failed: {err}"), now=True)
    if isinstance(err, httpx.TimeoutException):
        return _Retry(Attempt(provider.name, None, f"timed out after {seconds:g} s"))
    return _Retry(Attempt(provider.name, None, f"connection broken: {type(err).__name__}"))


def _result(ran: tuple[Provider, Any, float, list[Attempt]]) -> Result:
    provider, body, elapsed, attempts = ran
    return Result(provider.name, body, elapsed * 1000, attempts)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class Gateway:
    def __init__(
        self,
        settings: Settings,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = settings.timeout / 1000
        self.max_retries = settings.max_retries
        self.model = settings.model
        self.embedding_model = settings.embedding_model
        self.clock = clock
        # One pool for every provider (see `outbound`).
        self.transport = transport or outbound.pooled_transport(200, 50)
        self.providers = [
            Provider(
                name,
                settings.base_url(name),
                key,
                Breaker(settings.provider_failure_threshold, settings.provider_cooldown, clock),
            )
            for name in settings.chain
            if (key := settings.api_key(name))
        ]
        self.chain = settings.chain

    @property
    def offline(self) -> bool:
        return not self.providers

    def budget(self) -> float:
        """The whole request's deadline: every attempt's timeout, added up."""
        return self.timeout * (self.max_retries + 1) * max(1, len(self.providers))

    async def aclose(self) -> None:
        await self.transport.aclose()

    async def _send(
        self,
        provider: Provider,
        path: str,
        payload: dict[str, Any] | None,
        seconds: float,
        method: str = "POST",
        accept: str = "application/json",
    ) -> httpx.Response:
        """One request to `provider`, its body not read yet (the caller reads or streams it)."""
        headers = {"Authorization": f"Bearer {provider.key}", "Accept": accept}
        try:
            return await outbound.open_response(
                self.transport, method, provider.url(path), seconds, payload, headers
            )
        except httpx.TransportError as err:
            raise _transport_failure(provider, err, seconds) from None

    # -- plain requests --------------------------------------------------------------------------
    async def complete(self, payload: dict[str, Any]) -> Result:
        payload = {**payload, "model": payload.get("model") or self.model}
        return _result(
            await self._chain(lambda p, s: self._once(p, "POST", "/chat/completions", payload, s))
        )

    async def embeddings(self, payload: dict[str, Any]) -> Result:
        payload = {**payload, "model": payload.get("model") or self.embedding_model}
        return _result(
            await self._chain(lambda p, s: self._once(p, "POST", "/embeddings", payload, s))
        )

    # -- the chain -------------------------------------------------------------------------------
    async def _chain(
        self,
        attempt: Callable[[Provider, float], Awaitable[T]],
        providers: list[Provider] | None = None,
    ) -> tuple[Provider, T, float, list[Attempt]]:
        """Every provider in order (`providers`, default the whole chain), each with its
        retries, within the request's deadline, until one `attempt` succeeds: (that provider,
        what it returned, its seconds, the failures before it). Raises ProvidersUnavailable with
        every attempt when none does."""
        attempts: list[Attempt] = []
        deadline = self.clock() + self.budget()
        for index, provider in enumerate(self.providers if providers is None else providers):
            if index and attempts:
                metrics.failover(provider.name)
            try:
                value, elapsed = await self._with_retries(provider, deadline, attempts, attempt)
            except _NextProvider:
                continue
            return provider, value, elapsed, attempts
        raise ProvidersUnavailable([a.public() for a in attempts])

    async def _with_retries(
        self,
        provider: Provider,
        deadline: float,
        attempts: list[Attempt],
        attempt: Callable[[Provider, float], Awaitable[T]],
    ) -> tuple[T, float]:
        if not provider.breaker.allow():
            attempts.append(Attempt(provider.name, None, "cooling down after repeated failures"))
            metrics.request(provider.name, "skipped", 0.0)
            raise _NextProvider(attempts[-1])
        for retry in range(self.max_retries + 1):
            remaining = deadline - self.clock()
            if remaining <= 0:
                attempts.append(Attempt(provider.name, None, "request deadline reached"))
                raise _NextProvider(attempts[-1])
            started = time.perf_counter()
            try:
                value = await attempt(provider, min(self.timeout, remaining))
            except (_Retry, _NextProvider) as failure:
                elapsed = time.perf_counter() - started
                attempts.append(failure.attempt)
                provider.breaker.failure(failure.attempt.error)
                metrics.request(provider.name, "failure", elapsed)
                log.warning(
                    "provider_attempt_failed",
                    provider=provider.name,
                    status=failure.attempt.status,
                    error=failure.attempt.error,
                    retry=retry,
                )
                if isinstance(failure, _NextProvider) or provider.breaker.tripped:
                    raise _NextProvider(failure.attempt) from None
                if retry < self.max_retries and not failure.now:
                    await anyio.sleep(
                        min(self._backoff(retry, failure.wait), max(0.0, deadline - self.clock()))
                    )
                continue
            except UpstreamRejected:
                provider.breaker.success()
                raise
            elapsed = time.perf_counter() - started
            provider.breaker.success()
            metrics.request(provider.name, "success", elapsed)
            return value, elapsed
        raise _NextProvider(attempts[-1])

    def _backoff(self, retry: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.timeout)
        return random.uniform(0, min(self.timeout, BACKOFF_BASE * 2**retry))  # noqa: S311

    async def _once(
        self,
        provider: Provider,
        method: str,
        path: str,
        payload: dict[str, Any] | None,
        seconds: float,
    ) -> Any:
        response = await self._send(provider, path, payload, seconds, method)
        try:
            await outbound.read_response(response)
        except httpx.TransportError as err:
            raise _transport_failure(provider, err, seconds) from None
        self._classify(provider, response)
        try:
            return response.json()
        except ValueError:
            raise _Retry(
                Attempt(provider.name, response.status_code, "malformed JSON in the response")
            ) from None

    def _classify(self, provider: Provider, response: httpx.Response) -> None:
        """Raise what a read response's status calls for (nothing for 2xx)."""
        status = response.status_code
        if status < 300:
            return
        message = _error_message(response.content)
        attempt = Attempt(
            provider.name, status, f"HTTP {status}{': ' + message if message else ''}"
        )
        if status in (401, 403):
            raise _NextProvider(attempt)
        if status in RETRYABLE_STATUS or status >= 500:
            raise _Retry(attempt, wait=_retry_after(response))
        raise UpstreamRejected(
            provider.name,
            status,
            response.content,
            response.headers.get("content-type", "application/json"),
        )

    # -- streaming -------------------------------------------------------------------------------
    async def stream(self, payload: dict[str, Any]) -> Stream:
        """Open a stream on the first provider that delivers a first event (with failover)."""
        payload = {**payload, "model": payload.get("model") or self.model, "stream": True}
        provider, (first, rest, close), elapsed, attempts = await self._chain(
            lambda p, seconds: self._open_stream(p, payload, seconds)
        )
        return Stream(provider.name, first, rest, elapsed * 1000, attempts, close)

    async def resume(self, payload: dict[str, Any], partial: str, after: str) -> Stream:
        """The answer `partial` began on provider `after`, continued on the providers after it:
        first with `partial` as the assistant's prefix, and when a provider refuses that
        prefill (400), with `partial` quoted in a user turn instead. Raises what `stream` does
        (ProvidersUnavailable when none is left or none answers)."""
        names = [p.name for p in self.providers]
        rest = self.providers[names.index(after) + 1 :] if after in names else []
        if not rest:
            raise ProvidersUnavailable([], detail=f"no provider after {after} to continue on")
        base = {**payload, "model": payload.get("model") or self.model, "stream": True}
        try:
            return await self._stream_on(rest, continuation.prefilled(base, partial))
        except UpstreamRejected as refused:
            if refused.status != 400:
                raise
            log.info("continuation_prefill_refused", provider=refused.provider)
            return await self._stream_on(rest, continuation.quoted(base, partial))

    async def _stream_on(self, providers: list[Provider], payload: dict[str, Any]) -> Stream:
        provider, (first, rest, close), elapsed, attempts = await self._chain(
            lambda p, seconds: self._open_stream(p, payload, seconds), providers
        )
        return Stream(provider.name, first, rest, elapsed * 1000, attempts, close)

    async def _open_stream(
        self, provider: Provider, payload: dict[str, Any], seconds: float
    ) -> tuple[list[bytes], AsyncIterator[bytes], Callable[[], Any]]:
        response = await self._send(
            provider, "/chat/completions", payload, seconds, accept="text/event-stream"
        )
        if response.status_code >= 300:
            self._classify(provider, await outbound.read_response(response))
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            await response.aclose()
            raise _Retry(
                Attempt(
                    provider.name,
                    response.status_code,
                    "answered a stream request without an event stream",
                )
            )
        events = _events(response.aiter_lines(), self.timeout, provider.name)
        try:
            with anyio.fail_after(seconds):
                first = await anext(events)
        except (TimeoutError, StopAsyncIteration, httpx.TransportError, StreamBroken) as err:
            await response.aclose()
            reason = (
                "no first event within the timeout"
                if isinstance(err, TimeoutError)
                else f"stream ended before its first event ({type(err).__name__})"
            )
            raise _Retry(Attempt(provider.name, 200, reason)) from None
        except BaseException:  # cancelled (a refused bet, a client gone): free the connection
            await response.aclose()
            raise
        if not _well_formed(first):
            await response.aclose()
            raise _Retry(Attempt(provider.name, 200, "malformed first event"))
        return [first], events, response.aclose


async def _events(
    lines: AsyncIterator[str], idle_timeout: float, provider: str
) -> AsyncIterator[bytes]:
    """SSE events (`data: …\\n\\n`) one at a time; an idle gap longer than the timeout fails."""
    data: list[str] = []
    while True:
        try:
            with anyio.fail_after(idle_timeout):
                line = await anext(lines)
        except StopAsyncIteration:
            if data:
                yield ("\n".join(data) + "\n\n").encode()
            return
        except (TimeoutError, httpx.ReadTimeout):  # ours, or the HTTP client's read timeout
            raise StreamBroken(f"{provider} sent nothing for {idle_timeout:g} s") from None
        except httpx.TransportError as err:
            raise StreamBroken(f"{provider} broke the stream ({type(err).__name__})") from None
        if line == "":
            if data:
                yield ("\n".join(data) + "\n\n").encode()
                data = []
            continue
        data.append(line)


def _inspect(event: bytes, provider: str, texts: list[str]) -> bool:
    """Whether `event` ends the answer (`[DONE]`, or a choice with a `finish_reason`), with its
    text appended to `texts`; raises StreamBroken when its data is not JSON. The one parse of
    each event on the way through (msgspec: it runs once per token)."""
    finished, text = False, ""
    for line in event.splitlines():
        if not line.startswith(b"data:"):
            continue  # comments, `event:`, `id:`, `retry:`
        data = line[5:].strip()
        if data == b"[DONE]":
            finished = True
            continue
        try:
            chunk = msgspec.json.decode(data)
        except msgspec.DecodeError:
            raise StreamBroken(f"{provider} sent a malformed chunk mid-stream") from None
        choices = chunk.get("choices") if isinstance(chunk, dict) else None
        for choice in choices if isinstance(choices, list) else ():
            if not isinstance(choice, dict):
                continue
            finished = finished or bool(choice.get("finish_reason"))
            delta = choice.get("delta")
            if isinstance(delta, dict) and isinstance(delta.get("content"), str):
                text += delta["content"]
    texts.append(text)
    return finished


def _well_formed(event: bytes) -> bool:
    text = event.decode("utf-8", "replace").strip()
    for line in text.splitlines():
        if line.startswith("data:"):
            data = line[5:].strip()
            if data == "[DONE]":
                return True
            try:
                json.loads(data)
            except ValueError:
                return False
            return True
    return text.startswith((":", "event:", "id:", "retry:"))


def _error_message(body: bytes) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        return body[:200].decode("utf-8", "replace").strip()
    if isinstance(parsed, dict):
        err = parsed.get("error")
        if isinstance(err, dict):
            return str(err.get("message", ""))[:200]
        if isinstance(err, str):
            return err[:200]
    return ""

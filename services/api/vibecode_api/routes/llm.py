"""OpenAI-compatible `/v1/*` and the platform's own `/api/chat`, through the provider chain.

The `/v1` relays ask for one dependency, the gateway (admission has already established the
caller): Litestar resolves two or more in an anyio task group per request, which cost the relay
more CPU than the rest of our overhead together (docs/benchmarks.md).

Every answer says who produced it (`X-Vibe-Provider`: a provider's name or `offline`) and what
our own code cost (`X-Vibe-Overhead-Ms`, the upstream's time excluded).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import Body
from litestar.response import Stream
from pydantic import BaseModel, ConfigDict, Field

from .. import chat, workspaces
from ..db import Database
from ..errors import ApiError
from ..identity import Identity
from ..logs import get_logger
from ..providers import Gateway, StreamBroken, UpstreamRejected
from ..providers.gateway import Stream as UpstreamStream
from ..providers.resumable import ResumableStream, Switch
from ..rag.service import Rag
from ..rate_limit import OVERLAP, alongside_verdict
from ..sessions import SessionManager
from ..views import ChatView, CompletionView, EmbeddingsView, ModelListView, ModelView
from .openapi import CHAT_EVENTS, EVENT_STREAM, OPENAI_EVENTS, refusals
from .workspaces import NO_WORKSPACE

log = get_logger(__name__)

Req = Request[Any, Any, Any]
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class Message(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[Any] | None = None


class CompletionRequest(BaseModel):
    """The OpenAI chat-completions body; fields we do not use are passed on untouched."""

    model_config = ConfigDict(extra="allow", strict=True)
    messages: list[Message] = Field(min_length=1)
    model: str | None = None
    stream: bool = False


class EmbeddingsRequest(BaseModel):
    """The OpenAI embeddings body; fields we do not use are passed on untouched."""

    model_config = ConfigDict(extra="allow", strict=True)
    input: str | list[str] | list[int] | list[list[int]] = Field(
        description="the text (or texts, or token arrays) to embed"
    )
    model: str | None = None


_NO_PROVIDER = "`providers_unavailable`: every provider of the chain failed (`attempts`)"
_REJECTED = "the provider refused the request itself: its answer, passed on unchanged"
_RELAYED = refusals({502: _NO_PROVIDER, 422: _REJECTED})


def _ok(view: Any, description: str) -> dict[int, ResponseSpec]:
    """The 200 of a handler that returns bytes or a stream: what the JSON body is."""
    return {200: ResponseSpec(view, description=description, generate_examples=False)}


_STREAMS = {**OVERLAP, EVENT_STREAM: OPENAI_EVENTS}


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    messages: list[Message] = Field(min_length=1, max_length=200)
    workspaceId: str | None = None
    stream: bool = False
    model: str | None = None


def _headers(request: Req, provider: str, upstream_ms: float) -> dict[str, str]:
    return {
        "X-Vibe-Provider": provider,
        "X-Vibe-Overhead-Ms": chat.overhead_ms(request.scope, upstream_ms),
    }


async def _close_stream(opened: Any) -> None:
    if isinstance(opened, UpstreamStream):
        await opened.close()


def _rejected(request: Req, err: UpstreamRejected) -> Response[bytes]:
    return Response(
        err.body,
        status_code=err.status,
        media_type=err.content_type,
        headers=_headers(request, err.provider, 0.0),
    )


@post(
    "/v1/chat/completions",
    status_code=200,
    opt=_STREAMS,
    tags=["openai"],
    summary="OpenAI-compatible chat completions (stream or not) through the provider chain",
    operation_id="createChatCompletion",
    responses={
        **_ok(CompletionView, "the completion, or with stream=true its chunks as SSE"),
        **_RELAYED,
    },
)
async def chat_completions(
    request: Req,
    gateway: NamedDependency[Gateway],
    data: Annotated[CompletionRequest, Body()],
) -> Response[Any]:
    # The body as the client sent it (validated above): unknown fields reach the provider as-is.
    payload: dict[str, Any] = await request.json()
    model = chat.model_of(gateway, data.model)
    if gateway.offline:
        headers = _headers(request, "offline", 0.0)
        if data.stream:
            return Stream(
                chat.offline_stream(model),
                media_type="text/event-stream",
                headers={**headers, **SSE_HEADERS},
            )
        return Response(chat.offline_completion(model), headers=headers)
    try:
        if not data.stream:
            result = await alongside_verdict(request.scope, lambda: gateway.complete(payload))
            return Response(
                result.body, headers=_headers(request, result.provider, result.upstream_ms)
            )
        upstream = await alongside_verdict(
            request.scope, lambda: gateway.stream(payload), _close_stream
        )
    except UpstreamRejected as err:
        return _rejected(request, err)

    resumable = ResumableStream(gateway, payload, upstream)

    async def relay() -> AsyncIterator[bytes]:
        switched: str | None = None
        try:
            async for item in resumable.events():
                if isinstance(item, Switch):
                    switched = item.target
                    continue
                yield chat.with_provider(item, switched) if switched else item
                switched = None
        except StreamBroken as err:
            yield chat.openai_error_event(resumable.provider, str(err))
        finally:
            await resumable.close()

    return Stream(
        relay(),
        media_type="text/event-stream",
        headers={**_headers(request, upstream.provider, upstream.upstream_ms), **SSE_HEADERS},
    )


@post(
    "/v1/embeddings",
    status_code=200,
    opt=OVERLAP,
    tags=["openai"],
    summary="OpenAI-compatible embeddings through the provider chain",
    operation_id="createEmbeddings",
    responses=_ok(EmbeddingsView, "the embeddings, as the provider sent them")
    | refusals(
        {
            502: _NO_PROVIDER,
            422: _REJECTED,
            503: "`providers_unavailable`: no provider is configured (offline); "
            "or the database is unreachable",
        }
    ),
)
async def embeddings(
    request: Req,
    gateway: NamedDependency[Gateway],
    data: Annotated[EmbeddingsRequest, Body()],
) -> Response[Any]:
    if gateway.offline:
        raise ApiError(
            503,
            "providers_unavailable",
            "no provider is configured for embeddings; set a provider API key",
            attempts=[],
        )
    try:
        # The body as the client sent it (validated above): unknown fields reach the provider.
        payload: dict[str, Any] = await request.json()
        result = await alongside_verdict(request.scope, lambda: gateway.embeddings(payload))
    except UpstreamRejected as err:
        return _rejected(request, err)
    return Response(result.body, headers=_headers(request, result.provider, result.upstream_ms))


@get(
    "/v1/models",
    tags=["openai"],
    summary="The models this gateway serves",
    operation_id="listModels",
)
async def models(request: Req, gateway: NamedDependency[Gateway]) -> Response[ModelListView]:
    owner = gateway.providers[0].name if gateway.providers else "offline"
    data: list[ModelView] = [
        {"id": m, "object": "model", "created": 0, "owned_by": owner}
        for m in dict.fromkeys([gateway.model, gateway.embedding_model])
    ]
    return Response({"object": "list", "data": data}, headers=_headers(request, owner, 0.0))


@post(
    "/api/chat",
    status_code=200,
    opt={EVENT_STREAM: CHAT_EVENTS},
    tags=["chat"],
    summary="The assistant: JSON, or with stream=true SSE events context, delta, done, error",
    operation_id="chat",
    responses=_ok(ChatView, "the answer, or with stream=true its events as SSE")
    | refusals(
        {
            404: NO_WORKSPACE,
            502: _NO_PROVIDER,
            422: "`provider_rejected`: the provider refused the request itself",
        }
    ),
)
async def api_chat(
    request: Req,
    gateway: NamedDependency[Gateway],
    db: NamedDependency[Database],
    rag: NamedDependency[Rag],
    sessions: NamedDependency[SessionManager],
    identity: NamedDependency[Identity],
    data: Annotated[ChatRequest, Body()],
) -> Response[Any]:
    model = chat.model_of(gateway, data.model)
    messages = [m.model_dump(exclude_none=True) for m in data.messages]
    hits, searched = await _retrieve(db, rag, sessions, identity, data.workspaceId, messages)
    context = chat.citations(hits)
    if gateway.offline:
        answer = chat.offline_answer(hits, searched) if data.workspaceId else chat.OFFLINE_ANSWER
        headers = _headers(request, "offline", 0.0)
        if data.stream:
            return Stream(
                chat.api_offline_events(context, answer, model),
                media_type="text/event-stream",
                headers={**headers, **SSE_HEADERS},
            )
        return Response(
            {
                "message": {"role": "assistant", "content": answer},
                "provider": "offline",
                "model": model,
                "context": context,
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            },
            headers=headers,
        )
    if not searched:
        messages = [{"role": "system", "content": chat.NO_CONTEXT_NOTE}, *messages]
    messages = chat.with_sources(messages, hits)
    payload = {"model": model, "messages": messages}
    try:
        if not data.stream:
            result = await gateway.complete(payload)
            return Response(
                {
                    "message": {"role": "assistant", "content": chat.content_of(result.body)},
                    "provider": result.provider,
                    "model": result.body.get("model", model),
                    "context": context,
                    "usage": result.body.get("usage", {}),
                },
                headers=_headers(request, result.provider, result.upstream_ms),
            )
        upstream = await gateway.stream(payload)
    except UpstreamRejected as err:
        raise ApiError(
            err.status,
            "provider_rejected",
            f"{err.provider} refused the request: {err.body[:300].decode('utf-8', 'replace')}",
        ) from None
    return Stream(
        chat.api_events(context, ResumableStream(gateway, payload, upstream), model),
        media_type="text/event-stream",
        headers={**_headers(request, upstream.provider, upstream.upstream_ms), **SSE_HEADERS},
    )


async def _retrieve(
    db: Database,
    rag: Rag,
    sessions: SessionManager,
    identity: Identity,
    workspace_id: str | None,
    messages: list[dict[str, Any]],
) -> tuple[list[Any], bool]:
    """Context for the last user message: (hits within the token budget, whether search ran).
    A workspace that is not the caller's is a 404; a failing search only loses the context."""
    if not workspace_id:
        return [], True
    question = next(
        (str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), ""
    )[:2000]
    searcher = rag.searcher
    embedding = searcher.embed_soon(question) if question.strip() else None
    async with db.connection() as conn:
        ws = await workspaces.owned(conn, identity, workspace_id)
    if embedding is None:
        return [], True
    touched = asyncio.ensure_future(sessions.touch(workspace_id))
    try:
        hits, _ = await searcher.search(ws, question, top_k=8, embedding=embedding)
    except Exception as err:
        log.warning("chat_retrieval_failed", workspace=workspace_id, error=type(err).__name__)
        return [], False
    finally:
        await touched
    return searcher.within_budget(hits, rag.context_tokens), True


handlers = [chat_completions, embeddings, models, api_chat]

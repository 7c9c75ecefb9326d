"""`/api/tokens`: create (the secret shown once), list and revoke your bearer tokens."""

from __future__ import annotations

from typing import Annotated

from litestar import delete, get, post
from litestar.di import NamedDependency
from litestar.params import Body, FromPath
from pydantic import BaseModel, ConfigDict, Field

from ..context import RequestContext
from ..identity import Identity
from ..tokens import ACCOUNT_ONLY, Tokens
from ..views import CreatedTokenView, TokenView
from .openapi import refusals
from .types import INTEGRAL

SCOPE = "`token_scope`: a workspace token cannot manage tokens"


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=100, description="1-100 characters: what it is for")
    workspaceId: str | None = Field(
        None, description="a workspace of yours: the token reaches only that workspace"
    )
    expiresInDays: Annotated[int, Field(ge=1, le=365), INTEGRAL] | None = Field(
        None, description="1-365 days; none: never"
    )


@post(
    "/api/tokens",
    opt={"audit": "token.create", ACCOUNT_ONLY: True},
    status_code=201,
    tags=["tokens"],
    summary="Create a bearer token (its secret is shown in this answer only)",
    operation_id="createToken",
    responses=refusals({403: SCOPE, 404: "no such workspace of yours"}),
)
async def create_token(
    ctx: NamedDependency[RequestContext],
    tokens: NamedDependency[Tokens],
    identity: NamedDependency[Identity],
    data: Annotated[TokenCreate, Body()],
) -> CreatedTokenView:
    return await tokens.create(ctx, identity, data.name, data.workspaceId, data.expiresInDays)


@get(
    "/api/tokens",
    opt={ACCOUNT_ONLY: True},
    tags=["tokens"],
    summary="Your live tokens (never their secrets)",
    operation_id="listTokens",
    responses=refusals({403: SCOPE}),
)
async def list_tokens(
    tokens: NamedDependency[Tokens], identity: NamedDependency[Identity]
) -> list[TokenView]:
    return await tokens.listing(identity)


@delete(
    "/api/tokens/{token_id:str}",
    opt={"audit": "token.revoke", ACCOUNT_ONLY: True},
    tags=["tokens"],
    summary="Revoke a token: refused from the very next request, on every replica",
    operation_id="revokeToken",
    responses=refusals({403: SCOPE, 404: "no such token of yours"}),
)
async def revoke_token(
    ctx: NamedDependency[RequestContext],
    tokens: NamedDependency[Tokens],
    identity: NamedDependency[Identity],
    token_id: FromPath[str],
) -> None:
    await tokens.revoke(ctx, identity, token_id)


handlers = [create_token, list_tokens, revoke_token]

"""`GET /api/authz/workspace`: the workspace ingresses' auth-url (see `vibecode_api.authz`)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from ..authz import WorkspaceAuthz
from .openapi import refusals

OWNER_PATTERN = r"^user-[a-z0-9-]{1,58}$"


@get(
    "/api/authz/workspace",
    tags=["authz"],
    summary="Is the signed-in user the workspace's owner? (ingress-nginx auth-url)",
    operation_id="authorizeWorkspace",
    responses=refusals(
        {
            401: "not signed in (Authelia said 401)",
            403: "signed in, but not the owner",
            503: "`authz_unconfigured` (VIBE_AUTHZ_URL unset) or the auth server is away",
        }
    ),
)
async def workspace_authz(
    request: Request[Any, Any, Any],
    authz: NamedDependency[WorkspaceAuthz],
    owner: Annotated[
        str, Parameter(pattern=OWNER_PATTERN, description="the owner's user namespace")
    ],
) -> Response[dict[str, str]]:
    verdict = await authz.check(owner, dict(request.headers))
    if verdict.status == 200:
        return Response({"status": "allowed"}, status_code=200, headers=verdict.headers)
    code = "unauthenticated" if verdict.status == 401 else "forbidden"
    return Response({"error": code, "detail": verdict.detail}, status_code=verdict.status)


handlers = [workspace_authz]

"""The shapes of the API's answers, as TypedDicts: what the code that builds an answer returns
(mypy checks it), and what the OpenAPI document says the answer is (Litestar reads the handlers'
return types). A TypedDict costs nothing per request: the answer stays a plain dict.

Keys are the contract's (shared/API.md), camelCase. Objects allow keys beyond those listed
(JSON Schema's default), so a new field is never a breaking change.
"""

# No `from __future__ import annotations` here: with it, Python 3.11's TypedDict cannot see
# `NotRequired`, and every key would be documented (and checked) as required.
from typing import Any, Literal, NotRequired, TypedDict

SessionStatus = Literal["loading", "starting", "ready", "error", "stopped"]
FileStatus = Literal["pending", "indexed", "failed"]


class ErrorBody(TypedDict):
    """Every error: a machine code and a sentence; some add fields (`quota`, `attempts`, …)."""

    error: str
    detail: str


class WorkspaceView(TypedDict):
    id: str
    name: str
    namespace: str
    createdAt: str


class WorkspaceSummaryView(WorkspaceView):
    """A workspace in the list, with its size and its console's state."""

    files: int
    bytes: int
    chunks: int
    session: SessionStatus


class SessionView(TypedDict):
    status: SessionStatus
    workspaceId: NotRequired[str]
    provisioner: NotRequired[str]
    startedAt: NotRequired[str]
    lastActivity: NotRequired[str]
    url: NotRequired[str]
    password: NotRequired[str]
    error: NotRequired[str]
    reason: NotRequired[str]


class FileView(TypedDict):
    id: str
    path: str
    bytes: int
    sha256: str
    chunks: int
    status: FileStatus
    error: str | None
    createdAt: str
    updatedAt: str


class IngestView(TypedDict):
    """An upload's result: the file and what its re-embedding changed."""

    id: str
    path: str
    bytes: int
    sha256: str
    chunks: int
    chunksAdded: int
    chunksRemoved: int
    chunksKept: int
    status: FileStatus


class HitView(TypedDict):
    fileId: str
    path: str
    startLine: int
    endLine: int
    score: float
    text: str


class SearchView(TypedDict):
    results: list[HitView]
    tookMs: float


class MeView(TypedDict):
    user: str
    email: str | None
    name: str | None
    groups: list[str]
    tier: Literal["free", "premium"]
    admin: bool
    namespace: str


class QuotaView(TypedDict):
    limit: int
    used: int
    remaining: int
    resetAt: NotRequired[str]
    unit: NotRequired[str]
    workspaces: NotRequired[dict[str, int]]


class UsageView(TypedDict):
    user: str
    tier: Literal["free", "premium"]
    quotas: dict[str, QuotaView]


class AuditEventView(TypedDict):
    id: int
    at: str
    actor: str
    action: str
    target: str
    outcome: str
    requestId: str
    tokenId: str
    """the bearer token the request came with; "" through the auth proxy"""
    detail: dict[str, Any]


class TokenView(TypedDict):
    """A token as its owner sees it later: never the secret."""

    id: str
    name: str
    workspaceId: str | None
    createdAt: str
    expiresAt: str | None
    lastUsedAt: str | None


class CreatedTokenView(TypedDict):
    """A new token, with its secret: shown this once."""

    id: str
    name: str
    token: str
    workspaceId: str | None
    createdAt: str
    expiresAt: str | None


class PoolView(TypedDict):
    size: int
    available: int


class StatsView(TypedDict):
    """This process's request counters (latencies in ms, uptime in s)."""

    requestCount: int
    errorCount: int
    clientErrorCount: int
    errorRate: float
    avgLatency: float
    maxLatency: float
    uptime: float
    inFlight: int


class MetricsView(StatsView):
    memoryRssMb: float
    dbPool: PoolView


class HealthView(TypedDict):
    status: Literal["healthy", "degraded", "unhealthy"]
    checks: dict[str, dict[str, Any]]


class ReadyView(TypedDict):
    status: Literal["ready", "not_ready"]
    reason: NotRequired[str]


class LiveView(TypedDict):
    status: Literal["alive"]


class ModelView(TypedDict):
    id: str
    object: Literal["model"]
    created: int
    owned_by: str


class ModelListView(TypedDict):
    object: Literal["list"]
    data: list[ModelView]


class ChatMessageView(TypedDict):
    role: Literal["assistant"]
    content: str


class CitationView(HitView):
    """A passage the answer was given, numbered as the prompt numbered it (`[n]`)."""

    n: int


class ChatView(TypedDict):
    """`/api/chat` without `stream`: the answer, who gave it, and the passages it was given."""

    message: ChatMessageView
    provider: str
    model: str
    context: list[CitationView]
    usage: dict[str, Any]


class CompletionView(TypedDict):
    """An OpenAI chat completion, as the provider sent it (we add nothing, drop nothing)."""

    id: str
    object: str
    created: int
    model: str
    choices: list[dict[str, Any]]


class EmbeddingsView(TypedDict):
    object: str
    data: list[dict[str, Any]]
    model: str

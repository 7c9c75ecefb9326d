"""The tenancy model: tiers with their quotas, and the Kubernetes names of users and workspaces.

Pure Python with no dependencies, so the API (enforcement) and the infra program (ResourceQuota,
LimitRange) read the one definition. Numbers come from the seeds (production-status.md).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import StrEnum

KiB, MiB, GiB = 2**10, 2**20, 2**30


@dataclass(frozen=True)
class WorkspaceResources:
    """What one workspace's code-server may use (Kubernetes quantities)."""

    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str
    storage: str


@dataclass(frozen=True)
class Tier:
    name: str
    max_workspaces: int
    max_files_per_workspace: int
    max_file_size: int
    """bytes per uploaded file"""
    max_vector_chunks: int
    """chunks across all of the user's workspaces"""
    max_api_calls_per_hour: int
    max_storage_bytes: int
    """bytes of uploaded files across all of the user's workspaces"""
    max_concurrent_sessions: int
    workspace: WorkspaceResources

    def quotas(self) -> dict[str, int]:
        """The countable limits, by their API name."""
        return {
            "workspaces": self.max_workspaces,
            "filesPerWorkspace": self.max_files_per_workspace,
            "fileSize": self.max_file_size,
            "storageBytes": self.max_storage_bytes,
            "vectorChunks": self.max_vector_chunks,
            "apiCallsPerHour": self.max_api_calls_per_hour,
            "concurrentSessions": self.max_concurrent_sessions,
        }


class TierName(StrEnum):
    free = "free"
    premium = "premium"


TIERS: dict[TierName, Tier] = {
    TierName.free: Tier(
        name="free",
        max_workspaces=10,
        max_files_per_workspace=100,
        max_file_size=10 * MiB,
        max_vector_chunks=10_000,
        max_api_calls_per_hour=100,
        max_storage_bytes=100 * MiB,
        max_concurrent_sessions=3,
        # seed: code-server limits 2 GB / 1 CPU, reservations 512 MB / 0.25 CPU
        workspace=WorkspaceResources("250m", "1", "512Mi", "2Gi", "5Gi"),
    ),
    TierName.premium: Tier(
        name="premium",
        max_workspaces=50,
        max_files_per_workspace=500,
        max_file_size=50 * MiB,
        max_vector_chunks=100_000,
        max_api_calls_per_hour=1_000,
        max_storage_bytes=1 * GiB,
        max_concurrent_sessions=10,
        workspace=WorkspaceResources("500m", "2", "1Gi", "4Gi", "20Gi"),
    ),
}


def tier(name: str | TierName) -> Tier:
    return TIERS[TierName(name)]


QUOTA_NAMES: tuple[str, ...] = tuple(TIERS[TierName.free].quotas())

# -- names -------------------------------------------------------------------------------------
# A "safe" id is kept readable; anything else is escaped as <alnum prefix>--<hash>. Safe ids never
# contain "--", escaped ones always do, so the two can never meet. User slugs additionally never
# contain "-ws" (escaped otherwise), so in "user-{u}-ws-{w}" the first "-ws-" is the separator and
# (u, w) can be read back: two different pairs never share a name.

MAX_LABEL = 63
USER_SLUG_MAX = 30
WORKSPACE_SLUG_MAX = 24  # "user-" + 30 + "-ws-" + 24 = 63
_HASH_LEN = 10
_SAFE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _escape(value: str, max_len: int) -> str:
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LEN]
    prefix = re.sub(r"[^a-z0-9]", "", value.lower())[: max_len - _HASH_LEN - 2] or "x"
    return f"{prefix}--{digest}"


def user_slug(user_id: str) -> str:
    if len(user_id) <= USER_SLUG_MAX and _SAFE.match(user_id) and "-ws" not in user_id:
        return user_id
    return _escape(user_id, USER_SLUG_MAX)


def workspace_slug(workspace_id: str) -> str:
    if len(workspace_id) <= WORKSPACE_SLUG_MAX and _SAFE.match(workspace_id):
        return workspace_id
    return _escape(workspace_id, WORKSPACE_SLUG_MAX)


def user_namespace(user_id: str) -> str:
    """`user-{userId}`: the user's own namespace."""
    return f"user-{user_slug(user_id)}"


def workspace_namespace(user_id: str, workspace_id: str) -> str:
    """`user-{userId}-ws-{workspaceId}`: one workspace's namespace."""
    return f"user-{user_slug(user_id)}-ws-{workspace_slug(workspace_id)}"


def is_dns_label(name: str) -> bool:
    return len(name) <= MAX_LABEL and bool(_DNS_LABEL.match(name))

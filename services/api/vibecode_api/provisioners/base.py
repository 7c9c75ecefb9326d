"""The provisioner contract the session manager drives."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

Handle = dict[str, Any]
"""What a provisioner needs to find its session again (stored as JSON with the session)."""


class SessionState(StrEnum):
    """A console session's life: loading → starting → ready | error, and stopped. Stored as
    text in `sessions.state` and answered as `status`."""

    loading = "loading"
    starting = "starting"
    ready = "ready"
    error = "error"
    stopped = "stopped"


@dataclass(frozen=True)
class WorkspaceRef:
    id: str
    user: str
    namespace: str


@dataclass(frozen=True)
class Probe:
    """What a provisioner sees of a session right now."""

    state: SessionState
    url: str | None = None
    error: str | None = None
    last_heartbeat: float | None = None
    """epoch seconds of code-server's own last activity, when it reports one"""


class ProvisionError(Exception):
    """The session cannot be brought up; the message is shown to the user."""


class Provisioner(Protocol):
    name: str

    async def start(self, ws: WorkspaceRef) -> Handle:
        """Begin bringing the workspace's code-server up; return at once with its handle."""

    async def probe(self, ws: WorkspaceRef, handle: Handle) -> Probe:
        """The session's state as the platform sees it (process, pod, /healthz)."""

    async def stop(self, ws: WorkspaceRef, handle: Handle) -> None:
        """Stop code-server; the workspace's storage is kept."""

    def public(self, handle: Handle) -> dict[str, Any]:
        """What the session's owner may see of the handle (e.g. the local password)."""

    async def aclose(self) -> None:
        """Release clients (HTTP connections, API sessions) when the API stops."""

"""In a cluster: scale the workspace's code-server Deployment 0 ↔ 1 and read state from its pod.

The infra program declares, per workspace namespace, a Deployment named `code-server` whose
replica count Pulumi ignores; sessions own that number. State comes from the pod's phase,
conditions and container statuses (`derive_state`, a pure function). Authentication in front of
code-server is Authelia's, at the ingress, so no password is handed out here.
"""

from __future__ import annotations

from typing import Any

from ..settings import Settings
from .base import Handle, Probe, SessionState, WorkspaceRef

DEPLOYMENT = "code-server"
POD_LABELS = {"app.kubernetes.io/name": "code-server"}
_FATAL_WAITING = {
    "ImagePullBackOff",
    "ErrImagePull",
    "CrashLoopBackOff",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
}


def _conditions(pod: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c.get("type", ""): c for c in pod.get("status", {}).get("conditions", []) or []}


def _waiting(pod: dict[str, Any]) -> list[dict[str, Any]]:
    status = pod.get("status", {})
    found = []
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        waiting = (cs.get("state") or {}).get("waiting")
        if waiting:
            found.append(waiting)
    return found


def derive_state(pods: list[dict[str, Any]], url: str) -> Probe:
    """One session state from the workspace's pods (Kubernetes API JSON, camelCase)."""
    live = [p for p in pods if not p.get("metadata", {}).get("deletionTimestamp")]
    if not live:
        return Probe(SessionState.stopped if pods else SessionState.loading)
    pod = max(live, key=lambda p: p.get("metadata", {}).get("creationTimestamp", ""))
    phase = pod.get("status", {}).get("phase", "Pending")
    for waiting in _waiting(pod):
        if waiting.get("reason") in _FATAL_WAITING:
            detail = waiting.get("message") or ""
            return Probe(
                SessionState.error, error=f"{waiting['reason']}{': ' + detail if detail else ''}"
            )
    if phase == "Failed":
        return Probe(
            SessionState.error, error=pod.get("status", {}).get("message") or "the pod failed"
        )
    if phase == "Succeeded":
        return Probe(SessionState.stopped)
    conditions = _conditions(pod)
    if conditions.get("Ready", {}).get("status") == "True":
        return Probe(SessionState.ready, url=url)
    if conditions.get("PodScheduled", {}).get("status") == "True":
        return Probe(SessionState.starting)
    return Probe(SessionState.loading)


class KubernetesProvisioner:
    name = "kubernetes"

    def __init__(self, settings: Settings, client: Any = None) -> None:
        self.domain = settings.workspace_domain
        self._client = client

    def client(self) -> Any:
        if self._client is None:
            from lightkube import AsyncClient

            self._client = AsyncClient()  # in-cluster service account, or KUBECONFIG
        return self._client

    def url(self, ws: WorkspaceRef) -> str:
        return f"https://{ws.namespace}.{self.domain}/"

    async def _scale(self, ws: WorkspaceRef, replicas: int) -> None:
        from lightkube.resources.apps_v1 import Deployment
        from lightkube.types import PatchType

        await self.client().patch(
            Deployment,
            DEPLOYMENT,
            {"spec": {"replicas": replicas}},
            namespace=ws.namespace,
            patch_type=PatchType.MERGE,
        )

    async def start(self, ws: WorkspaceRef) -> Handle:
        await self._scale(ws, 1)
        return {"namespace": ws.namespace, "deployment": DEPLOYMENT}

    async def probe(self, ws: WorkspaceRef, handle: Handle) -> Probe:
        from lightkube.resources.core_v1 import Pod

        pods = [
            p.to_dict()
            async for p in self.client().list(Pod, namespace=ws.namespace, labels=POD_LABELS)
        ]
        return derive_state(pods, self.url(ws))

    async def stop(self, ws: WorkspaceRef, handle: Handle) -> None:
        await self._scale(ws, 0)

    def public(self, handle: Handle) -> dict[str, Any]:
        return {}

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()

"""Where a workspace's code-server runs: the `Provisioner` seam and its implementations.

`local` (the embedded default) runs a real code-server process per session on 127.0.0.1;
`kubernetes` scales the workspace's Deployment, declared by the infra program, between 0 and 1.
"""

from __future__ import annotations

from .base import Handle, Probe, Provisioner, ProvisionError, SessionState, WorkspaceRef

__all__ = [
    "Handle",
    "Probe",
    "ProvisionError",
    "Provisioner",
    "SessionState",
    "WorkspaceRef",
    "create",
]


def create(settings: object) -> Provisioner:
    from ..settings import Settings

    assert isinstance(settings, Settings)
    if settings.provisioner == "kubernetes":
        from .kubernetes import KubernetesProvisioner

        return KubernetesProvisioner(settings)
    from .local import LocalProvisioner

    return LocalProvisioner(settings)

"""Pod Security Standards (baseline and restricted, Kubernetes' own definitions), as the
admission controller applies them to a pod about to be created.

Only the controls that a spec can break are checked; `privileged` admits everything.
"""

from __future__ import annotations

from typing import Any

BASELINE_CAPABILITIES = {
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}  # fmt: skip
RESTRICTED_VOLUMES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
    "projected", "secret",
}  # fmt: skip
LEVELS = ("privileged", "baseline", "restricted")


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        *spec.get("initContainers", []),
        *spec.get("containers", []),
        *spec.get("ephemeralContainers", []),
    ]


def baseline(spec: dict[str, Any]) -> list[str]:
    found = []
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(key):
            found.append(f"{key} is true")
    for volume in spec.get("volumes", []):
        if "hostPath" in volume:
            found.append(f"volume {volume.get('name')} is a hostPath")
    pod_seccomp = ((spec.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
    if pod_seccomp == "Unconfined":
        found.append("the pod's seccomp profile is Unconfined")
    for c in _containers(spec):
        ctx = c.get("securityContext") or {}
        name = c.get("name", "?")
        if ctx.get("privileged"):
            found.append(f"container {name} is privileged")
        added = set((ctx.get("capabilities") or {}).get("add", [])) - BASELINE_CAPABILITIES
        if added:
            found.append(f"container {name} adds {', '.join(sorted(added))}")
        for port in c.get("ports", []):
            if port.get("hostPort"):
                found.append(f"container {name} uses host port {port['hostPort']}")
        if (ctx.get("seccompProfile") or {}).get("type") == "Unconfined":
            found.append(f"container {name}'s seccomp profile is Unconfined")
        if ctx.get("procMount") not in (None, "Default"):
            found.append(f"container {name} has procMount {ctx['procMount']}")
    return found


def restricted(spec: dict[str, Any]) -> list[str]:
    found = baseline(spec)
    pod_ctx = spec.get("securityContext") or {}
    for volume in spec.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            found.append(f"volume {volume.get('name')} is of type {', '.join(sorted(kinds))}")
    for c in _containers(spec):
        ctx = c.get("securityContext") or {}
        name = c.get("name", "?")
        if ctx.get("allowPrivilegeEscalation") is not False:
            found.append(f"container {name} does not set allowPrivilegeEscalation: false")
        if not (
            ctx.get("runAsNonRoot")
            or (pod_ctx.get("runAsNonRoot") and ctx.get("runAsNonRoot") is not False)
        ):
            found.append(f"container {name} does not run as non-root (runAsNonRoot)")
        if 0 in (ctx.get("runAsUser"), pod_ctx.get("runAsUser")):
            found.append(f"container {name} runs as uid 0")
        seccomp = (ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            found.append(f"container {name} has no RuntimeDefault/Localhost seccomp profile")
        caps = ctx.get("capabilities") or {}
        if "ALL" not in caps.get("drop", []):
            found.append(f"container {name} does not drop ALL capabilities")
        extra = set(caps.get("add", [])) - {"NET_BIND_SERVICE"}
        if extra:
            found.append(
                f"container {name} adds {', '.join(sorted(extra))} (restricted allows "
                "only NET_BIND_SERVICE)"
            )
    return found


def violations(level: str, spec: dict[str, Any]) -> list[str]:
    """What `level` refuses in this pod spec (an unknown level is treated as restricted)."""
    if level == "privileged":
        return []
    if level == "baseline":
        return baseline(spec)
    return restricted(spec)

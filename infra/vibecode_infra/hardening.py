"""What every workload we own carries: labels, Datadog unified service tags, and a hardened pod.

One place for the security baseline the verification chain asserts: non-root, no privilege
escalation, all capabilities dropped, seccomp RuntimeDefault, read-only root filesystem where the
program allows, requests and limits, probes, and no service-account token unless needed.
"""

from __future__ import annotations

from typing import Any

TEAM = "platform"
SERVICE = "vibecode"


def labels(component: str, env: str, version: str, **extra: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": component,
        "app.kubernetes.io/part-of": SERVICE,
        "app.kubernetes.io/managed-by": "pulumi",
        "tags.datadoghq.com/env": env,
        "tags.datadoghq.com/service": f"{SERVICE}-{component}",
        "tags.datadoghq.com/version": version,
        "team": TEAM,
        "component": component,
        **extra,
    }


def pod_security(uid: int = 10001) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security(read_only_root: bool = True) -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resources(
    cpu_request: str, cpu_limit: str, memory_request: str, memory_limit: str
) -> dict[str, Any]:
    return {
        "requests": {"cpu": cpu_request, "memory": memory_request},
        "limits": {"cpu": cpu_limit, "memory": memory_limit},
    }


def http_probe(
    path: str, port: int, *, period: int = 10, failures: int = 3, delay: int = 0
) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "failureThreshold": failures,
        "initialDelaySeconds": delay,
        "timeoutSeconds": 3,
    }


def image_pull(kind: bool) -> str:
    """On KIND, IfNotPresent: images come from `kind load docker-image` into the nodes, and
    Always would pull the tag from a registry instead (ErrImagePull, or whoever published that
    name). Elsewhere Always: a node re-checks the registry, so a re-pushed tag or a revoked image
    is never served from a node's cache (checkov CKV_K8S_15); tags are pinned in stack config."""
    return "IfNotPresent" if kind else "Always"


KIND_PULL_SKIP = (
    "CKV_K8S_15=KIND runs images loaded into its nodes with kind load, which only "
    "IfNotPresent uses; other stacks pull Always"
)
"""The checkov skip a KIND workload carries for its pull policy (`image_pull`)."""

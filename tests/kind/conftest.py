"""Tests against a real Kubernetes cluster (KIND). Opt-in: they need Docker, kind, kubectl, Helm
(Calico's chart) and the Pulumi CLI.

Run with `pytest -m kind` after `vibe kind up` (or any cluster in KUBECONFIG). Everything here
skips, naming what is missing, when there is no reachable cluster.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest


def _missing() -> str | None:
    for tool in ("docker", "kind", "kubectl", "helm", "pulumi"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    try:
        subprocess.run(["docker", "info"], capture_output=True, check=True, timeout=10)
    except (subprocess.SubprocessError, OSError):
        return "no Docker engine is running"
    try:
        subprocess.run(
            ["kubectl", "version", "--request-timeout=5s"],
            capture_output=True,
            check=True,
            timeout=15,
        )
    except (subprocess.SubprocessError, OSError):
        return "no Kubernetes cluster is reachable (vibe kind up, or set KUBECONFIG)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = _missing()
    for item in items:
        if "tests/kind" in str(item.path):
            item.add_marker(pytest.mark.kind)
            if reason:
                item.add_marker(pytest.mark.skip(reason=f"needs a KIND cluster: {reason}"))

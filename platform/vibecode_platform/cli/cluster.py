"""`vibe kind up|down`: the KIND cluster from the repo's `kind-config.yaml`."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from .errors import CliError, require_tool

CLUSTER = "vibecode"
CALICO_MANIFEST = (
    "https://raw.githubusercontent.com/projectcalico/calico/v3.29.3/manifests/calico.yaml"
)


def up(root: Path, name: str = CLUSTER) -> dict[str, Any]:
    require_tool("docker")
    kind = require_tool("kind")
    config = root / "kind-config.yaml"
    existing = subprocess.run([kind, "get", "clusters"], capture_output=True, text=True)
    if name in existing.stdout.split():
        return {"cluster": name, "created": False, "next": _next_steps()}
    done = subprocess.run([kind, "create", "cluster", "--name", name, "--config", str(config)])
    if done.returncode != 0:
        raise CliError(f"kind create cluster failed (exit {done.returncode})")
    return {"cluster": name, "created": True, "next": _next_steps()}


def down(name: str = CLUSTER) -> dict[str, Any]:
    require_tool("docker")
    kind = require_tool("kind")
    done = subprocess.run([kind, "delete", "cluster", "--name", name])
    if done.returncode != 0:
        raise CliError(f"kind delete cluster failed (exit {done.returncode})")
    return {"cluster": name, "deleted": True}


def _next_steps() -> list[str]:
    # kind-config.yaml disables kindnet (it does not enforce NetworkPolicy): install Calico.
    return [
        f"kubectl apply -f {CALICO_MANIFEST}",
        "vibe up --stack dev",
    ]

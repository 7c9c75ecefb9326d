"""The platform program: edge, data, API, Datadog (when on) and the configured workspaces."""

from __future__ import annotations

from pathlib import Path

import pulumi

from . import config
from .components.addresses import API_NS
from .components.api import Api
from .components.data import Data
from .components.edge import Edge
from .components.scanner import Scanner
from .components.workspace import Workspace


def build(root: Path | None = None) -> dict[str, object]:
    cfg = config.from_pulumi()
    edge = Edge("edge", cfg)
    data = Data("data", cfg, api_namespace=API_NS)
    if cfg.scanner.enabled:
        Scanner("scanner", cfg)
    api = Api(
        "api",
        cfg,
        data.uri,
        edge.proxy_secret.result,
        opts=pulumi.ResourceOptions(depends_on=[data]),
    )
    if cfg.datadog.enabled:
        from .components.autoscaling import ApiAutoscaler
        from .components.monitoring import Monitoring  # imports pulumi_datadog: seconds
        from .components.observability import DatadogAgent

        agent = DatadogAgent("datadog", cfg)
        Monitoring("monitoring", cfg)
        ApiAutoscaler(
            "api-autoscaler", cfg, API_NS, opts=pulumi.ResourceOptions(depends_on=[agent, api])
        )
    workspaces = [
        Workspace(
            f"ws-{i}",
            cfg,
            user=spec.user,
            workspace=spec.workspace,
            tier=spec.tier,
            opts=pulumi.ResourceOptions(depends_on=[edge]),
        )
        for i, spec in enumerate(cfg.all_workspaces(root or Path.cwd()))
    ]
    pulumi.export("appUrl", f"https://{cfg.host('app')}")
    pulumi.export("authUrl", f"https://{edge.auth_host}")
    pulumi.export("adminUser", cfg.auth.admin.username)
    pulumi.export("adminPassword", edge.auth.admin_password.result)  # a secret output
    pulumi.export("activeColor", cfg.api.active_color)
    pulumi.export("workspaces", [w.namespace_name for w in workspaces])
    return {"edge": edge, "data": data, "api": api, "workspaces": workspaces}


def build_workspace(cfg: config.StackConfig, user: str, workspace: str, tier: str) -> Workspace:
    """One workspace on its own (the inline program of a per-workspace stack, `vibe workspaces`):
    the same component the platform program gives its configured workspaces."""
    ws = Workspace("workspace", cfg, user=user, workspace=workspace, tier=tier)
    pulumi.export("namespace", ws.namespace_name)
    pulumi.export("url", f"https://{ws.namespace_name}.{cfg.domain}/")
    return ws

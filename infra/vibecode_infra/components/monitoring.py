"""Datadog monitors (P1-P4), the platform dashboard and the SLOs, with pulumi-datadog.

The definitions are data in `alerts.py`; this component only declares them, through an explicit
provider built from the stack's site and secret keys. `import pulumi_datadog` costs seconds, so
program.py imports this module only when Datadog is on.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_datadog as datadog

from .. import alerts
from ..config import StackConfig


class Monitoring(pulumi.ComponentResource):
    def __init__(
        self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vibecode:monitoring:Monitoring", name, None, opts)
        secrets = pulumi.Config("vibecode")
        provider = datadog.Provider(
            "datadog",
            api_key=secrets.require_secret("datadogApiKey"),
            app_key=secrets.require_secret("datadogAppKey"),
            api_url=f"https://api.{cfg.datadog.site}/",
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.monitors: dict[str, datadog.Monitor] = {}
        for spec in alerts.monitors(cfg):
            windows = (
                datadog.MonitorMonitorThresholdWindowsArgs(**spec.windows) if spec.windows else None
            )
            self.monitors[spec.key] = datadog.Monitor(
                f"monitor-{spec.key}",
                name=f"[P{spec.priority}] {spec.name} ({cfg.environment})",
                type="query alert",
                query=spec.query,
                message=alerts.message(cfg, spec),
                priority=str(spec.priority),
                tags=alerts.tags(cfg, spec.component, f"priority:p{spec.priority}"),
                monitor_thresholds=datadog.MonitorMonitorThresholdsArgs(
                    critical=str(spec.critical)
                ),
                monitor_threshold_windows=windows,
                notify_no_data=spec.notify_no_data,
                no_data_timeframe=10 if spec.notify_no_data else None,
                require_full_window=False,
                include_tags=True,
                renotify_interval=60 if spec.priority <= 2 else 0,
                opts=child,
            )
        board = alerts.dashboard(cfg)
        self.dashboard = datadog.DashboardJson(
            "platform-dashboard", dashboard=json.dumps(board), opts=child
        )
        for slo in alerts.slos(cfg):
            common = {
                "name": f"{slo.name} ({cfg.environment})",
                "description": slo.description,
                "tags": alerts.tags(cfg, "api"),
                "thresholds": [
                    datadog.ServiceLevelObjectiveThresholdArgs(timeframe="30d", target=slo.target),
                    datadog.ServiceLevelObjectiveThresholdArgs(timeframe="7d", target=slo.target),
                ],
                "opts": child,
            }
            if slo.monitor:
                datadog.ServiceLevelObjective(
                    f"slo-{slo.key}",
                    type="monitor",
                    monitor_ids=[self.monitors[slo.monitor].id.apply(int)],
                    **common,
                )
            else:
                datadog.ServiceLevelObjective(
                    f"slo-{slo.key}",
                    type="metric",
                    query=datadog.ServiceLevelObjectiveQueryArgs(
                        numerator=slo.numerator or "", denominator=slo.denominator or ""
                    ),
                    **common,
                )
        self.register_outputs({"monitors": len(self.monitors)})

"""The verification chain's Datadog invariants: what the mock engine recorded must be what the
seeds and the stack config say — on, everything with valid queries and its thresholds; off,
nothing of it at all."""

from __future__ import annotations

from typing import Any

from vibecode_core import metric_names

from .. import alerts
from ..config import StackConfig
from ..dd_query import QueryError, parse_expression, parse_monitor

MONITOR = "datadog:index/monitor:Monitor"
DASHBOARD = "datadog:index/dashboardJson:DashboardJson"
SLO = "datadog:index/serviceLevelObjective:ServiceLevelObjective"
AUTOSCALERS = ("HorizontalPodAutoscaler", "WatermarkPodAutoscaler", "DatadogPodAutoscaler")
INTEGRATION_PREFIXES = ("kubernetes.", "kubernetes_state.", "system.")
"""Metrics the agent's integrations report; everything else must be one of ours."""


def _known(metric: str) -> bool:
    return metric in metric_names.ALL or metric.startswith(INTEGRATION_PREFIXES)


def check(
    cfg: StackConfig,
    manifests: list[dict[str, Any]],
    releases: list[dict[str, Any]],
    recorded: list[dict[str, Any]],
) -> list[str]:
    failures: list[str] = []
    scalers = [m for m in manifests if m["kind"] in AUTOSCALERS]
    charts = {r.get("chart") for r in releases}
    if not cfg.datadog.enabled:
        if recorded:
            failures.append(f"datadog is off but {len(recorded)} Datadog resources are declared")
        if scalers or "datadog" in charts:
            failures.append("datadog is off but its agent or an autoscaler is declared")
        return failures

    # -- monitors ----------------------------------------------------------------------------
    specs = {s.key: s for s in alerts.monitors(cfg)}
    monitors = [r for r in recorded if r["resourceType"] == MONITOR]
    if len(monitors) != len(specs):
        failures.append(f"{len(specs)} monitors specified, {len(monitors)} declared")
    for mon in monitors:
        who = f"monitor {mon['resourceName']}"
        key = mon["resourceName"].removeprefix("monitor-")
        if mon.get("priority") not in ("1", "2", "3", "4"):
            failures.append(f"{who}: priority must be 1-4, not {mon.get('priority')!r}")
        tag_keys = {t.split(":", 1)[0] for t in mon.get("tags", [])}
        if not {"env", "service", "team", "component", "priority"} <= tag_keys:
            failures.append(f"{who}: tags {sorted(tag_keys)} lack the standard ones")
        if "Check first:" not in (mon.get("message") or ""):
            failures.append(f"{who}: the message must say what to check first")
        try:
            parsed = parse_monitor(mon["query"])
        except QueryError as err:
            failures.append(f"{who}: {err}")
            continue
        critical = float((mon.get("monitorThresholds") or {}).get("critical", "nan"))
        if parsed.threshold != critical:
            failures.append(f"{who}: query threshold {parsed.threshold} != critical {critical}")
        if key in specs and critical != specs[key].critical:
            failures.append(f"{who}: critical {critical} != specified {specs[key].critical}")
        for metric, scope in zip(parsed.metrics, parsed.scopes, strict=True):
            if not _known(metric):
                failures.append(f"{who}: {metric} is neither ours nor an integration's")
            if f"env:{cfg.environment}" not in scope:
                failures.append(f"{who}: {metric} is not scoped to env:{cfg.environment}")

    # -- dashboards and SLOs ---------------------------------------------------------------------
    import json

    boards = [r for r in recorded if r["resourceType"] == DASHBOARD]
    if not boards:
        failures.append("no platform dashboard")
    for board in boards:
        for query in alerts.dashboard_queries(json.loads(board["dashboard"])):
            try:
                unknown = [m for m in parse_expression(query) if not _known(m)]
            except QueryError as err:
                failures.append(f"dashboard: {err}")
                continue
            if unknown:
                failures.append(f"dashboard: {query!r} reads unknown metrics {unknown}")
    slos = [r for r in recorded if r["resourceType"] == SLO]
    if len(slos) != len(alerts.slos(cfg)):
        failures.append(f"{len(alerts.slos(cfg))} SLOs specified, {len(slos)} declared")
    for slo in slos:
        for part in ("numerator", "denominator"):
            slo_query = (slo.get("query") or {}).get(part)
            if slo_query:
                try:
                    parse_expression(slo_query)
                except QueryError as err:
                    failures.append(f"SLO {slo['resourceName']}: {err}")

    # -- agent and autoscaler ----------------------------------------------------------------------
    agent = next((r for r in releases if r.get("chart") == "datadog"), None)
    mode = cfg.datadog.autoscaling.mode
    if agent is None:
        failures.append("datadog is on but the agent's chart is not declared")
    else:
        values = agent.get("values", {})
        expect = {
            ("datadog", "logs", "containerCollectAll"): True,
            ("datadog", "apm", "portEnabled"): True,
            ("datadog", "kubelet", "tlsVerify"): not cfg.kind,
            ("clusterAgent", "metricsProvider", "enabled"): True,
            # The DatadogMetric CRD (datadog-crds) and the provider the HPA reads it through.
            ("clusterAgent", "metricsProvider", "useDatadogMetrics"): True,
        }
        for path, wanted in expect.items():
            found: Any = values
            for part in path:
                found = found.get(part) if isinstance(found, dict) else None
            if found != wanted:
                failures.append(f"datadog chart: {'.'.join(path)} is {found}, expected {wanted}")
    targets = [
        (m.get("spec", {}).get("scaleTargetRef") or m.get("spec", {}).get("targetRef") or {}).get(
            "name"
        )
        for m in scalers
    ]
    if len(targets) != len(set(targets)):
        failures.append(f"more than one autoscaler on one target: {targets}")
    expected = [] if mode == "none" else [f"vibecode-api-{cfg.api.active_color}"]
    if targets != expected:
        failures.append(f"autoscaler targets {targets}, expected {expected} (mode {mode})")
    metrics = {m["metadata"]["name"]: m for m in manifests if m["kind"] == "DatadogMetric"}
    for m in scalers:
        for metric in m.get("spec", {}).get("metrics", []):
            name = ((metric.get("external") or {}).get("metric") or {}).get("name", "")
            ns, _, dm = name.removeprefix("datadogmetric@").partition(":")
            if not name.startswith("datadogmetric@") or dm not in metrics:
                failures.append(f"{m['kind']}: external metric {name!r} names no DatadogMetric")
                continue
            try:
                found = parse_expression(metrics[dm]["spec"]["query"])
            except QueryError as err:
                failures.append(f"DatadogMetric {dm}: {err}")
                continue
            if ns != metrics[dm]["metadata"].get("namespace") or any(
                f not in metric_names.ALL for f in found
            ):
                failures.append(f"DatadogMetric {dm}: {found} is not ours, or not in {ns}")
    return failures


def summary(recorded: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "monitors": sum(r["resourceType"] == MONITOR for r in recorded),
        "dashboards": sum(r["resourceType"] == DASHBOARD for r in recorded),
        "slos": sum(r["resourceType"] == SLO for r in recorded),
    }

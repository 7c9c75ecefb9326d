"""Datadog as code, proven under Pulumi's mock engine: the monitors carry the seeds' thresholds,
priorities, tags and messages; every query parses; the API's HPA reads a DatadogMetric that the
pinned chart's CRD and provider serve; and a stack with Datadog off declares none of it while the
API keeps /metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from vibecode_infra import config
from vibecode_infra.dd_query import QueryError, parse_expression, parse_monitor
from vibecode_infra.verification.datadog import check
from vibecode_infra.verify import ROOT, render

# The seeds' numbers, written out here rather than imported: the test must disagree with
# alerts.py if someone edits a threshold there.
pytestmark = pytest.mark.slow

SEEDS: dict[str, tuple[int, float]] = {
    "service-down": (1, 1),
    "no-provider": (1, 1),
    "error-rate": (2, 10),
    "latency": (2, 5),
    "memory": (2, 85),
    "api-rss": (2, 128 * 1024 * 1024),
    "cpu": (3, 80),
    "disk": (2, 90),
    "workspace-disk": (2, 90),
    "rate-limit": (3, 50),
    "search-latency": (2, 5),
    "search-slo": (3, 0.25),
    "autoscaler": (3, 0),
    "traffic-trend": (4, 1),
}


def rendered(out: Path) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    ms = [yaml.safe_load(p.read_text()) for p in sorted((out / "manifests").glob("*.yaml"))]
    dd = (
        {p.stem: json.loads(p.read_text()) for p in sorted((out / "datadog").glob("*.json"))}
        if (out / "datadog").exists()
        else {}
    )
    return ms, dd


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    out = tmp_path_factory.mktemp("prod-datadog")
    return render("prod", out=out, policy=False), out


def test_every_monitor_has_the_seed_threshold_priority_tags_and_a_first_check(
    prod: tuple[dict[str, Any], Path],
) -> None:
    report, out = prod
    assert report["ok"], report["invariant_failures"]
    _, dd = rendered(out)
    monitors = {
        k.removeprefix("monitor-monitor-"): v for k, v in dd.items() if k.startswith("monitor-")
    }
    assert set(monitors) == set(SEEDS)
    for key, (priority, critical) in SEEDS.items():
        mon = monitors[key]
        query = parse_monitor(mon["query"])
        assert float(mon["monitorThresholds"]["critical"]) == critical, key
        assert query.threshold == critical, key
        assert mon["priority"] == str(priority), key
        assert mon["name"].startswith(f"[P{priority}] ")
        assert {
            "env:prod",
            "service:vibecode-api",
            "team:platform",
            f"priority:p{priority}",
        } <= set(mon["tags"])
        assert any(t.startswith("component:") for t in mon["tags"])
        assert "Check first: " in mon["message"]
        assert all("env:prod" in scope for scope in query.scopes), key
    # Notification targets come from stack config, by priority.
    assert "@pagerduty-vibecode" in monitors["service-down"]["message"]
    assert "@pagerduty-vibecode" not in monitors["cpu"]["message"]
    assert "@slack-vibecode-platform" in monitors["cpu"]["message"]
    assert monitors["service-down"]["notifyNoData"] is True
    assert "kube_deployment:vibecode-api-blue" in monitors["service-down"]["query"]


def test_dashboard_and_slos_read_only_metrics_that_exist(prod: tuple[dict[str, Any], Path]) -> None:
    _, out = prod
    _, dd = rendered(out)
    board = json.loads(dd["dashboardjson-platform-dashboard"]["dashboard"])
    titles = " ".join(w["definition"]["title"] for w in board["widgets"]).lower()
    for topic in (
        "requests",
        "errors",
        "p99",
        "provider",
        "failovers",
        "sessions",
        "quota",
        "rag",
        "namespace",
        "workspace",
    ):
        assert topic in titles, topic
    availability = dd["servicelevelobjective-slo-availability"]
    assert availability["type"] == "metric"
    assert {t["target"] for t in availability["thresholds"]} == {99.9}
    assert parse_expression(availability["query"]["numerator"]) == (
        "vibecode.api.requests",
        "vibecode.api.errors",
    )
    search = dd["servicelevelobjective-slo-search-latency"]
    assert search["type"] == "monitor"
    assert search["monitorIds"]
    assert all(isinstance(i, int) for i in search["monitorIds"])


def test_the_hpa_scales_the_live_colour_on_active_sessions_through_a_datadog_metric(
    prod: tuple[dict[str, Any], Path],
) -> None:
    report, out = prod
    assert report["schema_errors"] == []  # the HPA against Kubernetes' schema, the CRD's field
    ms, _ = rendered(out)
    scalers = [m for m in ms if m["kind"] in SCALERS]
    assert [m["kind"] for m in scalers] == ["HorizontalPodAutoscaler"]
    spec = scalers[0]["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "vibecode-api-blue",
    }
    external = spec["metrics"][0]["external"]
    assert external["metric"]["name"] == "datadogmetric@vibecode:vibecode-api-sessions"
    assert external["target"] == {"type": "AverageValue", "averageValue": "50"}
    assert (spec["minReplicas"], spec["maxReplicas"]) == (3, 12)
    assert spec["behavior"]["scaleUp"]["policies"][0]["value"] == 50
    assert spec["behavior"]["scaleDown"]["policies"][0]["value"] == 20
    (metric,) = [m for m in ms if m["kind"] == "DatadogMetric"]
    assert metric["metadata"] == {"name": "vibecode-api-sessions", "namespace": "vibecode"}
    assert parse_expression(metric["spec"]["query"]) == ("vibecode.api.active_user_sessions",)
    assert "env:prod" in metric["spec"]["query"]
    agent = next(r for r in report["releases"] if r["chart"] == "datadog")
    assert agent["values"]["clusterAgent"]["metricsProvider"]["useDatadogMetrics"] is True
    assert "watermarkpodautoscaler" not in {r["chart"] for r in report["releases"]}


SCALERS = ("HorizontalPodAutoscaler", "WatermarkPodAutoscaler", "DatadogPodAutoscaler")


def test_datadog_off_declares_none_of_it_and_the_api_keeps_prometheus(tmp_path: Path) -> None:
    report = render("dev", out=tmp_path, policy=False, overrides={"datadog": {"enabled": False}})
    assert report["ok"], report["invariant_failures"]
    assert report["datadog"] == {"monitors": 0, "dashboards": 0, "slos": 0}
    assert "datadog" not in {r["chart"] for r in report["releases"]}
    ms, dd = rendered(tmp_path)
    assert dd == {}
    assert not [m for m in ms if m["kind"] in (*SCALERS, "DatadogMetric")]
    assert not [m for m in ms if m["metadata"].get("namespace") == "datadog"]
    env = next(
        m for m in ms if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "vibecode-api-env"
    )
    assert env["data"]["VIBE_DOGSTATSD"] == "false"
    assert env["data"]["DD_TRACE_ENABLED"] == "false"


def test_autoscaling_none_declares_no_autoscaler(tmp_path: Path) -> None:
    report = render(
        "dev", out=tmp_path, policy=False, overrides={"datadog": {"autoscaling": {"mode": "none"}}}
    )
    assert report["ok"], report["invariant_failures"] + report["schema_errors"]
    ms, _ = rendered(tmp_path)
    assert not [m for m in ms if m["kind"] in (*SCALERS, "DatadogMetric")]


def test_an_hpa_on_a_missing_metric_or_a_second_autoscaler_is_caught() -> None:
    from vibecode_infra.verification.schemas import validate_schemas

    cfg = config.parse(config.stack_file("dev", ROOT))

    def hpa(name: str, metric: str) -> dict[str, Any]:
        return {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": name, "namespace": "vibecode"},
            "spec": {
                "scaleTargetRef": {"kind": "Deployment", "name": "vibecode-api-blue"},
                "maxReplicas": 3,
                "metrics": [
                    {
                        "type": "External",
                        "external": {
                            "metric": {"name": metric},
                            "target": {"type": "AverageValue", "averageValue": "50"},
                        },
                    }
                ],
            },
        }

    dm = {
        "apiVersion": "datadoghq.com/v1alpha1",
        "kind": "DatadogMetric",
        "metadata": {"name": "sessions", "namespace": "vibecode"},
        "spec": {},
    }
    assert validate_schemas([dm], "1.31") == ["DatadogMetric/vibecode/sessions: missing spec.query"]
    failures = check(cfg, [hpa("a", "datadogmetric@vibecode:nope"), hpa("b", "x")], [], [])
    assert any("more than one autoscaler on one target" in f for f in failures)
    assert any("names no DatadogMetric" in f for f in failures)


@pytest.mark.parametrize(
    "query",
    [
        "avg(last_5m):avg:vibecode.api.response_time{env:prod > 5",
        "avg(last_5m):avg:vibecode.api.response_time{env:prod} >> 5",
        "avg(lats_5m):avg:vibecode.api.response_time{env:prod} > 5",
        "avg(last_5m):mean:vibecode.api.response_time{env:prod} > 5",
        "avg(last_5m):avg:vibecode.api.response_time{env:prod}.as_count( > 5",
    ],
)
def test_a_malformed_monitor_query_is_refused(query: str) -> None:
    with pytest.raises(QueryError):
        parse_monitor(query)


@pytest.mark.parametrize(
    ("autoscaling", "message"),
    [
        ({"minReplicas": 5, "maxReplicas": 2}, "minReplicas must not exceed maxReplicas"),
        # Neither has a controller the pinned charts install (components/charts.py).
        ({"mode": "wpa"}, "vibecode:datadog.autoscaling.mode:"),
        ({"mode": "dpa"}, "vibecode:datadog.autoscaling.mode:"),
        ({"targetSessionsPerPod": 0}, "vibecode:datadog.autoscaling.targetSessionsPerPod:"),
    ],
)
def test_autoscaling_config_is_checked_with_the_key_named(
    autoscaling: dict[str, Any], message: str
) -> None:
    values = {"environment": "dev", "domain": "x.io", "datadog": {"autoscaling": autoscaling}}
    with pytest.raises(config.ConfigError) as err:
        config.parse(values)
    assert message in str(err.value)


def test_notify_targets_must_be_datadog_handles() -> None:
    with pytest.raises(config.ConfigError, match="is not a Datadog @handle"):
        config.parse(
            {"environment": "dev", "domain": "x.io", "datadog": {"notify": {"P1": ["ops"]}}}
        )

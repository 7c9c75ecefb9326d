"""What Datadog watches: the P1-P4 monitors, the platform dashboard's queries and the SLOs, as
data built from stack config. `components/monitoring.py` declares them with pulumi-datadog; the
verification chain parses every query (`dd_query`) and checks every threshold against the seeds.

Seed numbers (`production-status.md`, `cli-production-readiness.md`): error rate < 10 %, average
latency < 5 s, memory < 85 % and API RSS < 128 MB, CPU < 80 % sustained, disk < 90 %, vector
search < 5 s, rate-limit violations watched. Priorities (`cloud-native-platform.md`): P1 service
down, P2 degradation, P3 warnings for business hours, P4 trends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from vibecode_core import metric_names as t

from .config import StackConfig

RSS_LIMIT_BYTES = t.API_RSS_LIMIT_BYTES
RATE_LIMIT_REFUSALS_PER_15M = 50
"""Refusals are expected at the edge of a tier; 50 in 15 minutes means abuse or a broken client."""


@dataclass(frozen=True)
class MonitorSpec:
    key: str
    name: str
    priority: int
    query: str
    critical: float
    first_check: str
    component: str = "api"
    notify_no_data: bool = False
    windows: dict[str, str] | None = None
    warning: float | None = None


@dataclass(frozen=True)
class SloSpec:
    key: str
    name: str
    target: float
    description: str
    numerator: str | None = None
    denominator: str | None = None
    monitor: str | None = None
    """A key of MONITORS: a monitor-based SLO."""
    tags: list[str] = field(default_factory=list)


def scope(cfg: StackConfig, **extra: str) -> str:
    return ",".join([f"env:{cfg.environment}", *(f"{k}:{v}" for k, v in extra.items())])


def monitors(cfg: StackConfig) -> list[MonitorSpec]:
    env = scope(cfg)
    api = scope(cfg, service="vibecode-api")
    active = scope(
        cfg, kube_namespace="vibecode", kube_deployment=f"vibecode-api-{cfg.api.active_color}"
    )
    return [
        MonitorSpec(
            "service-down",
            "VibeCode API is down: no available pod",
            1,
            f"max(last_5m):max:kubernetes_state.deployment.replicas_available{{{active}}} < 1",
            1,
            "`kubectl -n vibecode get pods -l vibecode.dev/color` and the pods' events; "
            "a failed rollout is undone with `vibe rollback`.",
            notify_no_data=True,
        ),
        MonitorSpec(
            "no-provider",
            "No LLM provider available: chat runs offline",
            1,
            f"max(last_5m):max:{t.PROVIDERS_AVAILABLE}{{{api}}} < 1",
            1,
            "`/api/health` lists each provider's last error; check provider keys and status "
            "pages, then `vibecode.api.provider.failures` by provider.",
        ),
        MonitorSpec(
            "error-rate",
            "VibeCode API error rate above 10 %",
            2,
            f"sum(last_5m):sum:{t.ERRORS}{{{api}}}.as_count() / "
            f"sum:{t.REQUESTS}{{{api}}}.as_count() * 100 > 10",
            10,
            "the API logs for `level:error` by route, then `/api/health` (database, providers).",
        ),
        MonitorSpec(
            "latency",
            "VibeCode API average latency above 5 s",
            2,
            f"avg(last_5m):avg:{t.RESPONSE_TIME}{{{api}}} > 5",
            5,
            "the dashboard's latency by route; provider latency and database health first.",
        ),
        MonitorSpec(
            "memory",
            "Pod memory above 85 % of its limit",
            2,
            f"avg(last_5m):avg:kubernetes.memory.usage{{{env}}} by {{kube_namespace,pod_name}} / "
            f"avg:kubernetes.memory.limits{{{env}}} by {{kube_namespace,pod_name}} * 100 > 85",
            85,
            "the pod's memory trend; raise its limit or find the leak before it is OOM-killed.",
            component="platform",
        ),
        MonitorSpec(
            "api-rss",
            "VibeCode API process RSS above 128 MB",
            2,
            f"avg(last_10m):max:{t.MEMORY_RSS}{{{api}}} by {{host}} > {RSS_LIMIT_BYTES}",
            RSS_LIMIT_BYTES,
            "`/api/health` memory check on the pod; RSS that grows with uptime is a leak.",
        ),
        MonitorSpec(
            "cpu",
            "Node CPU above 80 % for 15 minutes",
            3,
            f"avg(last_15m):100 - avg:system.cpu.idle{{{env}}} by {{host}} > 80",
            80,
            "which pods use the node (`kubectl top pods -A`); scale the node pool if it is load.",
            component="platform",
        ),
        MonitorSpec(
            "disk",
            "Node disk above 90 %",
            2,
            f"max(last_5m):max:system.disk.in_use{{{env}}} by {{host,device}} * 100 > 90",
            90,
            "images and logs on the node (`crictl rmi --prune`), then volume sizes.",
            component="platform",
        ),
        MonitorSpec(
            "workspace-disk",
            "Workspace volume above 90 %",
            2,
            "max(last_5m):max:kubernetes.kubelet.volume.stats.used_bytes"
            f"{{{env}}} by {{kube_namespace,persistentvolumeclaim}} / "
            "max:kubernetes.kubelet.volume.stats.capacity_bytes"
            f"{{{env}}} by {{kube_namespace,persistentvolumeclaim}} * 100 > 90",
            90,
            "tell the workspace's owner; the tier's storage quota bounds what can be granted.",
            component="workspace",
        ),
        MonitorSpec(
            "rate-limit",
            "API rate-limit refusals are frequent",
            3,
            f"sum(last_15m):sum:{t.RATE_LIMIT_REFUSALS}{{{api}}}.as_count() > "
            f"{RATE_LIMIT_REFUSALS_PER_15M}",
            RATE_LIMIT_REFUSALS_PER_15M,
            "the audit log's `refused_rate_limit` events by user: a looping client or abuse.",
        ),
        MonitorSpec(
            "search-latency",
            "Vector search latency above 5 s",
            2,
            f"avg(last_5m):avg:{t.RAG_SEARCH_TIME}{{{api}}} > 5",
            5,
            "database CPU and the HNSW index (`EXPLAIN ANALYZE` of a search); chat falls back "
            "to no context meanwhile.",
        ),
        MonitorSpec(
            "search-slo",
            f"Vector search p95 above {cfg.datadog.search_p95_seconds} s (our SLO)",
            3,
            f"avg(last_15m):p95:{t.RAG_SEARCH_TIME}{{{api}}} > {cfg.datadog.search_p95_seconds}",
            cfg.datadog.search_p95_seconds,
            "corpus growth per workspace and `hnsw.ef_search`; docs/benchmarks.md has the "
            "expected curve.",
        ),
        MonitorSpec(
            "autoscaler",
            "API autoscaler unable to scale: desired pods not available",
            3,
            f"min(last_15m):max:kubernetes_state.deployment.replicas_desired{{{active}}} - "
            f"max:kubernetes_state.deployment.replicas_available{{{active}}} > 0",
            0,
            "pending pods' events (quota, node capacity) and the autoscaler's status "
            "(`kubectl -n vibecode describe hpa vibecode-api`, `kubectl -n vibecode get datadogmetric`).",
        ),
        MonitorSpec(
            "traffic-trend",
            "API traffic outside its usual pattern",
            4,
            f"avg(last_4h):anomalies(sum:{t.REQUESTS}{{{api}}}.as_count(), 'agile', 2) >= 1",
            1,
            "informational: compare with releases and the sessions graph.",
            windows={"trigger_window": "last_1h", "recovery_window": "last_15m"},
        ),
    ]


def message(cfg: StackConfig, spec: MonitorSpec) -> str:
    handles = " ".join(cfg.datadog.notify.get(f"P{spec.priority}", []))  # type: ignore[call-overload]
    return (
        f"{spec.name} ({cfg.environment}).\n\n"
        f"Check first: {spec.first_check}\n\n"
        f"Dashboard: VibeCode platform ({cfg.environment}). {handles}"
    ).strip()


def tags(cfg: StackConfig, component: str, *extra: str) -> list[str]:
    return [
        f"env:{cfg.environment}",
        "service:vibecode-api",
        f"team:{t.TEAM}",
        f"component:{component}",
        *extra,
    ]


def slos(cfg: StackConfig) -> list[SloSpec]:
    api = scope(cfg, service="vibecode-api")
    return [
        SloSpec(
            "availability",
            "VibeCode API availability",
            99.9,
            "Requests answered without a 5xx, over 30 days.",
            numerator=f"sum:{t.REQUESTS}{{{api}}}.as_count() - sum:{t.ERRORS}{{{api}}}.as_count()",
            denominator=f"sum:{t.REQUESTS}{{{api}}}.as_count()",
        ),
        SloSpec(
            "search-latency",
            "Vector search latency",
            99.0,
            f"Time with search p95 under {cfg.datadog.search_p95_seconds} s, over 30 days.",
            monitor="search-slo",
        ),
    ]


def dashboard(cfg: StackConfig) -> dict[str, Any]:
    """The platform overview, in Datadog's dashboard JSON (what its UI exports)."""
    api = scope(cfg, service="vibecode-api")
    env = scope(cfg)

    def chart(title: str, *queries: str, kind: str = "line") -> dict[str, Any]:
        return {
            "definition": {
                "type": "timeseries",
                "title": title,
                "requests": [{"q": q, "display_type": kind} for q in queries],
            }
        }

    widgets = [
        chart(
            "Requests by route", f"sum:{t.REQUESTS}{{{api}}} by {{route}}.as_count()", kind="bars"
        ),
        chart(
            "5xx errors by route", f"sum:{t.ERRORS}{{{api}}} by {{route}}.as_count()", kind="bars"
        ),
        chart(
            "Latency p50 / p95 / p99 (s)",
            f"p50:{t.RESPONSE_TIME}{{{api}}}",
            f"p95:{t.RESPONSE_TIME}{{{api}}}",
            f"p99:{t.RESPONSE_TIME}{{{api}}}",
        ),
        chart(
            "Provider attempts by outcome",
            f"sum:{t.PROVIDER_REQUESTS}{{{api}}} by {{provider,outcome}}.as_count()",
            kind="bars",
        ),
        chart(
            "Failovers and available providers",
            f"sum:{t.PROVIDER_FAILOVERS}{{{api}}} by {{provider}}.as_count()",
            f"min:{t.PROVIDERS_AVAILABLE}{{{api}}}",
        ),
        chart("Active console sessions", f"avg:{t.ACTIVE_SESSIONS}{{{api}}}"),
        chart(
            "Quota and rate-limit refusals",
            f"sum:{t.QUOTA_REFUSALS}{{{api}}} by {{quota}}.as_count()",
            f"sum:{t.RATE_LIMIT_REFUSALS}{{{api}}} by {{tier}}.as_count()",
            kind="bars",
        ),
        chart(
            "RAG search and ingest p95 (s)",
            f"p95:{t.RAG_SEARCH_TIME}{{{api}}}",
            f"p95:{t.RAG_INGEST_TIME}{{{api}}}",
        ),
        chart("API RSS per pod (bytes)", f"max:{t.MEMORY_RSS}{{{api}}} by {{host}}"),
        chart(
            "CPU per namespace (cores)",
            f"sum:kubernetes.cpu.usage.total{{{env}}} by {{kube_namespace}} / 1000000000",
        ),
        chart(
            "Memory per namespace", f"sum:kubernetes.memory.usage{{{env}}} by {{kube_namespace}}"
        ),
        chart(
            "Disk used per workspace",
            f"max:kubernetes.kubelet.volume.stats.used_bytes{{{env}}} by {{kube_namespace}}",
        ),
    ]
    return {
        "title": f"VibeCode platform ({cfg.environment})",
        "description": "Traffic, errors, latency, providers, sessions, quotas, RAG and resources.",
        "layout_type": "ordered",
        "template_variables": [],
        "widgets": widgets,
        "tags": [f"team:{t.TEAM}"],
    }


def dashboard_queries(board: dict[str, Any]) -> list[str]:
    return [r["q"] for w in board["widgets"] for r in w["definition"]["requests"]]

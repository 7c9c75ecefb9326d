"""Provider-chain metrics: Prometheus series (the registry `/metrics` exposes) and their DogStatsD
twins `vibecode.api.provider.*`, recorded together so the two never disagree."""

from __future__ import annotations

from prometheus_client import Counter, Histogram
from vibecode_core import metric_names as names

from .. import telemetry

REQUESTS = Counter(
    "vibecode_api_provider_requests",
    "Attempts sent to each provider, by outcome",
    ["provider", "outcome"],
)
LATENCY = Histogram(
    "vibecode_api_provider_latency_seconds",
    "Upstream time per attempt",
    ["provider"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
FAILOVERS = Counter(
    "vibecode_api_provider_failovers",
    "Requests moved on to this provider: before the first token, or mid-stream (continued)",
    ["provider", "phase"],
)


def request(provider: str, outcome: str, seconds: float) -> None:
    REQUESTS.labels(provider, outcome).inc()
    tags = (f"provider:{provider}", f"outcome:{outcome}")
    telemetry.count(names.PROVIDER_REQUESTS, tags=tags)
    if outcome == "failure":
        telemetry.count(names.PROVIDER_FAILURES, tags=tags)
    if outcome != "skipped":
        LATENCY.labels(provider).observe(seconds)
        telemetry.seconds(names.PROVIDER_LATENCY, seconds, tags[:1])


def failover(provider: str, phase: str = "before_first_token") -> None:
    FAILOVERS.labels(provider, phase).inc()
    telemetry.count(names.PROVIDER_FAILOVERS, tags=(f"provider:{provider}", f"phase:{phase}"))

"""Prometheus series for the provider chain (the same registry `/metrics` exposes)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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
    "vibecode_api_provider_failovers", "Requests moved on to this provider", ["provider"]
)


def request(provider: str, outcome: str, seconds: float) -> None:
    REQUESTS.labels(provider, outcome).inc()
    if outcome != "skipped":
        LATENCY.labels(provider).observe(seconds)


def failover(provider: str) -> None:
    FAILOVERS.labels(provider).inc()

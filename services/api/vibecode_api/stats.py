"""Request counters: the seeds' getMetrics shape (`/api/monitoring/metrics`, per process), the
Prometheus series behind `/metrics` and the DogStatsD `vibecode.api.requests|errors|response_time`,
fed from one place — the outermost request middleware.

Litestar's Prometheus middleware would measure the same thing a second time, at a cost per
request of its own (docs/benchmarks.md); its controller still serves the exposition.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from . import telemetry
from .views import StatsView

REQUESTS = Counter(
    "vibecode_api_requests",
    "HTTP requests by route template and status",
    ["method", "path", "status_code"],
)
DURATION = Histogram(
    "vibecode_api_request_duration_seconds",
    "HTTP request duration",
    ["method", "path"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
IN_PROGRESS = Gauge("vibecode_api_requests_in_progress", "HTTP requests being served")
UNMATCHED = "<unmatched>"
"""The path label of requests no route matched: unbounded paths must not become series."""


@dataclass
class RequestStats:
    started: float = field(default_factory=time.monotonic)
    request_count: int = 0
    error_count: int = 0
    client_error_count: int = 0
    total_latency_ms: float = 0.0
    max_latency_ms: float = 0.0
    in_flight: int = 0
    _series: dict[tuple[str, str, int], Any] = field(default_factory=dict)

    def begin(self) -> None:
        self.in_flight += 1
        IN_PROGRESS.inc()

    def record(
        self, status: int, latency_ms: float, method: str = "GET", path: str | None = UNMATCHED
    ) -> None:
        """Count one finished request; `path` is its route template (None: no series)."""
        self.in_flight -= 1
        IN_PROGRESS.dec()
        self.request_count += 1
        self.total_latency_ms += latency_ms
        self.max_latency_ms = max(self.max_latency_ms, latency_ms)
        if status >= 500:
            self.error_count += 1
        elif status >= 400:
            self.client_error_count += 1
        if path is None:
            return
        key = (method, path, status)
        series = self._series.get(key)
        if series is None:
            series = (REQUESTS.labels(method, path, str(status)), DURATION.labels(method, path))
            self._series[key] = series
        series[0].inc()
        series[1].observe(latency_ms / 1000)
        telemetry.request(method, path, status, latency_ms / 1000)

    def snapshot(self) -> StatsView:
        count = self.request_count
        return {
            "requestCount": count,
            "errorCount": self.error_count,
            "clientErrorCount": self.client_error_count,
            "errorRate": round(self.error_count / count, 4) if count else 0.0,
            "avgLatency": round(self.total_latency_ms / count, 3) if count else 0.0,
            "maxLatency": round(self.max_latency_ms, 3),
            "uptime": round(time.monotonic() - self.started, 3),
            "inFlight": self.in_flight,
        }

"""In-process request counters behind `/api/monitoring/metrics` (the seeds' getMetrics shape).

Per process: with several workers each reports its own; `/metrics` (Prometheus) is what a
scraper aggregates across pods.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field


@dataclass
class RequestStats:
    started: float = field(default_factory=time.monotonic)
    request_count: int = 0
    error_count: int = 0
    client_error_count: int = 0
    total_latency_ms: float = 0.0
    max_latency_ms: float = 0.0
    in_flight: int = 0

    def record(self, status: int, latency_ms: float) -> None:
        self.request_count += 1
        self.total_latency_ms += latency_ms
        self.max_latency_ms = max(self.max_latency_ms, latency_ms)
        if status >= 500:
            self.error_count += 1
        elif status >= 400:
            self.client_error_count += 1

    def snapshot(self) -> dict[str, float | int]:
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

"""Health, probes, request metrics, Prometheus exposition, OpenAPI, and the error shape."""

from __future__ import annotations

from typing import Any

from .routes_for_tests import HANDLERS


def test_health_is_healthy_with_every_check(make_client: Any) -> None:
    # The memory check reads this pytest process's RSS, which earlier tests (the ONNX model)
    # can push past the 512 MiB default; the degraded case has its own test below.
    client = make_client(memory_warn_mb=8192)
    r = client.get("/api/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "healthy"
    assert set(body["checks"]) == {"config", "provider", "database", "memory"}
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["provider"]["mode"] == "offline"
    assert body["checks"]["memory"]["rssMb"] > 0


def test_probes(client: Any) -> None:
    assert client.get("/api/health/live").json() == {"status": "alive"}
    r = client.get("/api/health/ready")
    assert (r.status_code, r.json()) == (200, {"status": "ready"})


def test_memory_over_the_warning_line_degrades_but_serves(make_client: Any) -> None:
    client = make_client(memory_warn_mb=16)
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.json()["status"] == "degraded"
    assert r.json()["checks"]["memory"]["status"] == "warn"


def test_metrics_count_requests_errors_and_latency(make_client: Any) -> None:
    client = make_client(extra_handlers=HANDLERS)
    before = client.get("/api/monitoring/metrics").json()
    assert before["requestCount"] == 0  # the metrics call itself is counted after it answers
    client.get("/api/health/live")
    client.get("/does-not-exist")
    assert client.get("/test/boom").status_code == 500
    m = client.get("/api/monitoring/metrics").json()
    assert m["requestCount"] == 4
    assert m["errorCount"] == 1
    assert m["clientErrorCount"] == 1
    assert m["avgLatency"] > 0
    assert m["uptime"] > 0
    assert {"errorRate", "maxLatency", "memoryRssMb", "dbPool"} <= set(m)


_SERIES = (
    'vibecode_api_requests_total{method="GET",path="/api/monitoring/metrics",status_code="200"}'
)


def _series_value(text: str) -> float:
    """The counter's value (the registry is per process, so tests compare deltas)."""
    for line in text.splitlines():
        if line.startswith(_SERIES):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_prometheus_exposition(client: Any) -> None:
    before = _series_value(client.get("/metrics").text)
    client.get("/api/monitoring/metrics")
    client.get("/api/monitoring/metrics")
    client.get("/api/health/live")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert _series_value(r.text) == before + 2
    assert 'path="/api/health/live"' not in r.text  # probes are not request metrics


def test_openapi_document_is_served(client: Any) -> None:
    doc = client.get("/schema/openapi.json").json()
    assert doc["info"]["title"] == "VibeCode API"
    assert "/api/health" in doc["paths"]


def test_every_error_has_the_contract_shape_and_no_trace(make_client: Any) -> None:
    client = make_client(extra_handlers=HANDLERS)
    r = client.get("/nope")
    assert (r.status_code, r.json()["error"]) == (404, "not_found")
    r = client.delete("/api/health")
    assert (r.status_code, r.json()["error"]) == (405, "method_not_allowed")
    r = client.post(
        "/test/notes", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_input"
    r = client.get("/test/boom")
    assert r.status_code == 500
    assert r.json() == {
        "error": "internal_error",
        "detail": "an unexpected error occurred; it has been logged",
    }
    assert "Traceback" not in r.text


def test_request_id_is_echoed_or_generated(client: Any) -> None:
    r = client.get("/api/health/live", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = client.get("/api/health/live", headers={"X-Request-ID": "bad id\twith tabs"})
    assert len(r.headers["x-request-id"]) == 32

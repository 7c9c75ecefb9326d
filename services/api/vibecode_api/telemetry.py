"""DogStatsD metrics for Datadog: `vibecode.api.*`, tagged `env, service, version, team, component`.

The names are the contract the Pulumi monitors, dashboards, SLOs and the autoscaler read
(`vibecode_platform.telemetry` holds the names both sides use); README lists them. Like Prometheus's
registry, the sink is process-wide: `configure()` at start, `close()` at shutdown, and every
emitter is a no-op until then (or when `VIBE_DOGSTATSD=false`).

Cost: the datadog client aggregates in process (counts and gauges summed, distributions
reservoir-sampled per context) and sends one UDP datagram batch per flush interval, so a request
pays about 2 µs and never waits on the network. UDP to a port nobody listens on is dropped by
the client: no agent means no metrics, never an error or a slowdown.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from vibecode_platform import telemetry as names

from .logs import get_logger

if TYPE_CHECKING:
    from datadog.dogstatsd.base import DogStatsd

    from .settings import Settings

FLUSH_SECONDS = 1.0
SAMPLES_PER_CONTEXT = 256
"""Distribution samples kept per metric+tags between flushes; the rest are sampled (the agent
re-weights by the sample rate), which bounds memory and CPU under any load."""

_client: DogStatsd | None = None


def standard_tags(settings: Settings) -> list[str]:
    return [
        f"env:{settings.dd_env}",
        f"service:{settings.dd_service}",
        f"version:{settings.dd_version}",
        f"team:{names.TEAM}",
        "component:api",
    ]


def configure(settings: Settings) -> None:
    """Start the process's DogStatsD client (idempotent); nothing when turned off."""
    global _client
    if not settings.dogstatsd or _client is not None:
        return
    from datadog.dogstatsd.base import DogStatsd

    # With no agent, every flush is refused; the client drops the batch and says so each time.
    # One line at start says where metrics go; the per-flush warning would be noise.
    logging.getLogger("datadog.dogstatsd").setLevel(logging.ERROR)
    _client = DogStatsd(
        host=settings.dd_agent_host,
        port=settings.dd_dogstatsd_port,
        constant_tags=standard_tags(settings),
        disable_aggregation=False,
        disable_buffering=False,
        flush_interval=FLUSH_SECONDS,
        max_metric_samples_per_context=SAMPLES_PER_CONTEXT,
        disable_telemetry=True,
    )
    get_logger(__name__).info(
        "dogstatsd_on", target=f"{settings.dd_agent_host}:{settings.dd_dogstatsd_port}"
    )


def enabled() -> bool:
    return _client is not None


def flush() -> None:
    """Send what is aggregated now (tests and shutdown; the client also flushes on its own)."""
    if _client is not None:
        _client.flush_aggregated_metrics()
        _client.flush()


def close() -> None:
    global _client
    if _client is None:
        return
    flush()
    _client.close_socket(quiet=True)
    _client.stop()
    _client = None


def count(name: str, value: float = 1, tags: Sequence[str] = ()) -> None:
    if _client is not None:
        _client.increment(name, value, tags=list(tags))


def seconds(name: str, value: float, tags: Sequence[str] = ()) -> None:
    """A duration as a distribution (percentiles are computed server-side, across pods)."""
    if _client is not None:
        _client.distribution(name, value, tags=list(tags))


def gauge(name: str, value: float, tags: Sequence[str] = ()) -> None:
    if _client is not None:
        _client.gauge(name, value, tags=list(tags))


def request(method: str, route: str, status: int, elapsed: float) -> None:
    """One finished HTTP request: count, errors (5xx) and response time, by route template."""
    if _client is None:
        return
    tags = [f"route:{route}", f"method:{method}", f"status_code:{status}"]
    _client.increment(names.REQUESTS, tags=tags)
    _client.distribution(names.RESPONSE_TIME, elapsed, tags=tags[:2])
    if status >= 500:
        _client.increment(names.ERRORS, tags=tags)

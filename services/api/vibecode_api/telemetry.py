"""DogStatsD metrics for Datadog: `vibecode.api.*`, tagged `env, service, version, team, component`.

The names are the contract the Pulumi monitors, dashboards, SLOs and the autoscaler read
(`vibecode_core.metric_names` holds the names both sides use); README lists them. Like Prometheus's
registry, the sink is process-wide: `configure()` at start, `close()` at shutdown, and every
emitter is a no-op until then (or when `VIBE_DOGSTATSD=false`).

Cost: requests are the hot path, so `request()` only bumps plain dicts on the event loop (an
exact count per route+method+status, and a reservoir of response times per route+method);
`run()` hands them to the datadog client once a second. Everything else (provider calls, RAG,
refusals, gauges) is rare and goes straight to the client (buffered; its own aggregation is
off: it cost ten times what our dicts cost per request; docs/benchmarks.md, "Telemetry").
Either way a request never waits on the network, and UDP to a port nobody listens on is dropped:
no agent means no metrics, never an error or a slowdown.

`vibecode.api.response_time` is therefore a uniform sample of at most SAMPLES_PER_CONTEXT
requests per route and second per process: exact for `avg` and the percentiles the monitors and
dashboard read; counts come from `vibecode.api.requests`, which is exact.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio
from vibecode_core import metric_names as names

from .logs import get_logger

if TYPE_CHECKING:
    from datadog.dogstatsd.base import DogStatsd

    from .settings import Settings

FLUSH_SECONDS = 1.0
SAMPLES_PER_CONTEXT = 256
"""Response times kept per route+method between hand-overs (a uniform reservoir), which bounds
memory and the hand-over's CPU under any load."""

_client: DogStatsd | None = None


class _Reservoir:
    """Algorithm R: a uniform sample of every value added since the last drain."""

    __slots__ = ("seen", "values")

    def __init__(self) -> None:
        self.seen = 0
        self.values: list[float] = []

    def add(self, value: float) -> None:
        self.seen += 1
        if len(self.values) < SAMPLES_PER_CONTEXT:
            self.values.append(value)
        else:
            slot = int(random.random() * self.seen)  # noqa: S311 - sampling, not secrets
            if slot < SAMPLES_PER_CONTEXT:
                self.values[slot] = value


_counts: dict[tuple[str, str, int], int] = {}
_times: dict[tuple[str, str], _Reservoir] = {}
_drain_lock = threading.Lock()


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
        disable_aggregation=True,
        disable_buffering=False,
        flush_interval=FLUSH_SECONDS,
        disable_telemetry=True,
    )
    get_logger(__name__).info(
        "dogstatsd_on", target=f"{settings.dd_agent_host}:{settings.dd_dogstatsd_port}"
    )


def enabled() -> bool:
    return _client is not None


async def run() -> None:
    """Hand the request aggregates to the client every FLUSH_SECONDS (a task on the event loop,
    the thread `request()` runs on, so the hot path needs no lock)."""
    while True:
        await anyio.sleep(FLUSH_SECONDS)
        _drain()


def _drain() -> None:
    global _counts, _times
    client = _client
    if client is None:
        return
    with _drain_lock:
        counts, _counts = _counts, {}
        times, _times = _times, {}
    for (method, route, status), n in counts.items():
        tags = [f"route:{route}", f"method:{method}", f"status_code:{status}"]
        client.increment(names.REQUESTS, n, tags=tags)
        if status >= 500:
            client.increment(names.ERRORS, n, tags=tags)
    for (method, route), reservoir in times.items():
        tags = [f"route:{route}", f"method:{method}"]
        for value in reservoir.values:
            client.distribution(names.RESPONSE_TIME, value, tags=tags)


def flush() -> None:
    """Send everything now (tests and shutdown; `run()` and the client flush on their own).
    From another thread only while the event loop is idle, as in tests."""
    if _client is not None:
        _drain()
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
    """One finished HTTP request: count, errors (5xx) and response time, by route template.
    On the event loop only (its cost: docs/benchmarks.md, "Telemetry")."""
    if _client is None:
        return
    key = (method, route, status)
    _counts[key] = _counts.get(key, 0) + 1
    reservoir = _times.get(key[:2])
    if reservoir is None:
        reservoir = _times[key[:2]] = _Reservoir()
    reservoir.add(elapsed)

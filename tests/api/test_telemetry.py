"""DogStatsD metrics, read off a real UDP socket on 127.0.0.1: names, types and standard tags of
everything the Datadog monitors, dashboards and the autoscaler query."""

from __future__ import annotations

import dataclasses
import datetime as dt
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from vibecode_api import telemetry
from vibecode_fakeprovider import FakeProvider, serve_in_thread

from .clocks import ManualClock
from .conftest import as_user
from .routes_for_tests import boom

ALICE = as_user("alice")
STANDARD = {"env:test", "service:vibecode-api", "version:9.9.9", "team:platform", "component:api"}


@dataclasses.dataclass
class Datagram:
    name: str
    value: float
    type: str
    tags: set[str]


def parse(line: str) -> Datagram:
    """One DogStatsD line: `name:value|type[|@rate][|#tag,tag]`."""
    head, *fields = line.split("|")
    name, value = head.rsplit(":", 1)
    tags = next((set(f[1:].split(",")) for f in fields if f.startswith("#")), set())
    return Datagram(name, float(value), fields[0], tags)


class Agent:
    """A DogStatsD intake: a UDP socket on loopback."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.seen: list[Datagram] = []

    def collect(self, until: set[str], deadline: float = 15.0) -> list[Datagram]:
        """Flush and read until every name in `until` has arrived (or the deadline passes)."""
        end = time.monotonic() + deadline
        while not until <= {d.name for d in self.seen} and time.monotonic() < end:
            telemetry.flush()
            try:
                while True:
                    data = self.sock.recv(65535)
                    self.seen += [parse(x) for x in data.decode().splitlines() if x]
            except TimeoutError:
                continue
        return self.seen

    def named(self, name: str) -> list[Datagram]:
        return [d for d in self.seen if d.name == name]


@pytest.fixture
def agent() -> Iterator[Agent]:
    a = Agent()
    yield a
    a.sock.close()


@pytest.fixture
def providers() -> Iterator[list[Any]]:
    running = [serve_in_thread(FakeProvider(name=n)) for n in ("one", "two")]
    yield running
    for r in running:
        r.stop()


def test_every_metric_arrives_with_its_type_and_the_standard_tags(
    make_client: Any, agent: Agent, providers: list[Any]
) -> None:
    providers[0].fake.fault = "500"
    clock = ManualClock(time.time())
    client = make_client(
        clock=clock,
        dd_dogstatsd_port=agent.port,
        dd_env="test",
        dd_version="9.9.9",
        megallm_api_key="k1",
        megallm_base_url=providers[0].url,
        openrouter_api_key="k2",
        openrouter_base_url=providers[1].url,
        fallback_providers=["openrouter"],
        max_retries=0,
    )
    assert client.get("/api/me", headers=ALICE).status_code == 200
    assert client.get("/api/nowhere", headers=ALICE).status_code == 404
    chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert client.post("/v1/chat/completions", json=chat, headers=ALICE).status_code == 200
    ws = client.post("/api/workspaces", json={"name": "t"}, headers=ALICE).json()["id"]
    files = f"/api/workspaces/{ws}/files"
    up = client.post(
        files, files={"file": ("a.md", b"deploy windows are on fridays")}, headers=ALICE
    )
    assert up.status_code == 201
    big = client.post(files, files={"file": ("b.txt", b"a" * (10 * 2**20 + 1))}, headers=ALICE)
    assert big.status_code == 413
    search = f"/api/workspaces/{ws}/search"
    assert client.post(search, json={"query": "deploy"}, headers=ALICE).status_code == 200
    # A window long past: the calls above counted in the real one, this loop must start afresh.
    clock.now = dt.datetime(2020, 1, 1, 10, 59, tzinfo=dt.UTC).timestamp()
    while client.get("/api/me", headers=ALICE).status_code != 429:
        pass

    p = "vibecode.api."
    expected = {
        "requests": "c",
        "response_time": "d",
        "provider.requests": "c",
        "provider.failures": "c",
        "provider.latency": "d",
        "provider.failovers": "c",
        "rag.ingest.duration": "d",
        "rag.ingest.chunks": "c",
        "rag.search.duration": "d",
        "quota.refusals": "c",
        "rate_limit.refusals": "c",
        "active_user_sessions": "g",
        "providers.available": "g",
        "memory.rss": "g",
    }
    agent.collect({p + name for name in expected})
    for name, kind in expected.items():
        found = agent.named(p + name)
        assert found, f"{p + name} never arrived"
        for d in found:
            assert d.type == kind, d
            assert d.tags >= STANDARD, d

    me = [d for d in agent.named(p + "requests") if "route:/api/me" in d.tags]
    assert {"method:GET", "status_code:200"} <= me[0].tags
    assert sum(d.value for d in me if "status_code:200" in d.tags) >= 100
    # Tag values keep Datadog's character set: the client writes `{x}` and `<x>` as `_x_`.
    routes = {t for d in agent.named(p + "requests") for t in d.tags if t.startswith("route:")}
    assert {"route:_unmatched_", "route:/api/workspaces/_workspace_id_/search"} <= routes
    assert not agent.named(p + "errors")  # no 5xx here: the next test makes one
    failed = agent.named(p + "provider.failures")
    assert {"provider:megallm", "outcome:failure"} <= failed[0].tags
    assert {"provider:openrouter"} <= agent.named(p + "provider.failovers")[0].tags
    assert {"quota:fileSize", "tier:free"} <= agent.named(p + "quota.refusals")[0].tags
    assert agent.named(p + "rate_limit.refusals")[0].tags >= {"tier:free"}
    assert agent.named(p + "rag.ingest.chunks")[0].value >= 1
    assert agent.named(p + "active_user_sessions")[0].value == 0
    assert agent.named(p + "providers.available")[-1].value in (1, 2)
    assert agent.named(p + "memory.rss")[0].value > 10 * 2**20


def test_5xx_responses_are_counted_as_errors(make_client: Any, agent: Agent) -> None:
    client = make_client((boom,), dd_dogstatsd_port=agent.port, dd_env="test", dd_version="9.9.9")
    assert client.get("/test/boom", headers=ALICE).status_code == 500
    agent.collect({"vibecode.api.errors"})
    errors = agent.named("vibecode.api.errors")
    assert errors
    assert {"route:/test/boom", "status_code:500"} <= errors[0].tags


def test_with_no_agent_listening_requests_still_succeed(make_client: Any) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    client = make_client(dd_dogstatsd_port=closed)
    for _ in range(50):
        assert client.get("/api/me", headers=ALICE).status_code == 200
        telemetry.flush()  # sends into the void: ICMP refusals must not surface


def test_turned_off_nothing_is_configured(make_client: Any) -> None:
    client = make_client(dogstatsd=False)
    assert client.get("/api/me", headers=ALICE).status_code == 200
    assert telemetry.enabled() is False


def test_request_counts_are_exact_and_response_times_a_bounded_sample(agent: Agent) -> None:
    from vibecode_api.settings import Settings

    telemetry.configure(Settings(dd_dogstatsd_port=agent.port, dd_env="test"))
    try:
        for i in range(1000):
            telemetry.request("GET", "/api/me", 200, i / 1000)
        telemetry.request("POST", "/api/chat", 502, 0.5)
        agent.collect({"vibecode.api.requests", "vibecode.api.errors"})
    finally:
        telemetry.close()
    counts = {
        tuple(sorted(t for t in d.tags if t.startswith(("route:", "status_code:")))): d.value
        for d in agent.named("vibecode.api.requests")
    }
    assert counts == {
        ("route:/api/me", "status_code:200"): 1000,
        ("route:/api/chat", "status_code:502"): 1,
    }
    assert [d.value for d in agent.named("vibecode.api.errors")] == [1]
    times = [d for d in agent.named("vibecode.api.response_time") if "route:/api/me" in d.tags]
    assert len(times) == telemetry.SAMPLES_PER_CONTEXT
    assert len({d.value for d in times}) == len(times)  # distinct requests, not one repeated
    assert all(0 <= d.value < 1 for d in times)

"""Provider gateway: our overhead per request, what a failover from a refused primary adds (and
once that primary is cooling down), and how many requests one worker carries. Targets from issue
4: overhead median <= 1 ms, p99 <= 5 ms at concurrency 1 and 64; failover <= 5 ms; 0 ms while the
primary cools down.

Concurrency 64 runs against a model-like upstream (250 ± 125 ms), with the clients ramped up:
64 requests in flight at ~250 req/s. Against the 20 ms upstream that concurrency 1 and 8 use, 64
connections would offer ~3,200 req/s, more than one worker on these 2 shared cores can serve;
that run is kept as the capacity row, where the overhead is time spent queueing behind the
other requests.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from ._harness import ROOT, Area, Row, Server, api_argv, free_port, wrk_output, wrk_summary

CHAT = {"messages": [{"role": "user", "content": "hi"}], "model": "bench"}


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


MODEL_LATENCY_MS, MODEL_JITTER_MS = 250, 125
"""A fast hosted model's time to answer a short chat, and its spread: the requests drift apart
as they do in production instead of arriving in lockstep."""


def _fake(latency_ms: float, jitter_ms: float = 0, fault: str = "none") -> tuple[Server, str]:
    port = free_port()
    server = Server(
        [
            sys.executable,
            "-m",
            "vibecode_fakeprovider",
            "--port",
            str(port),
            "--latency-ms",
            str(latency_ms),
            "--latency-jitter-ms",
            str(jitter_ms),
            "--fault",
            fault,
        ],
        {},
        "/_stats",
    )
    server.port, server.url = port, f"http://127.0.0.1:{port}"
    return server, f"{server.url}/v1"


def _api(data: Path, chain: dict[str, str], **env: str) -> Server:
    values = {
        "VIBE_DATA_DIR": str(data),
        "VIBE_LOG_LEVEL": "warn",
        "VIBE_FALLBACK_PROVIDERS": "openrouter",
        "VIBE_TIMEOUT": "5000",
        **env,
    }
    for name, url in chain.items():
        values[f"{name.upper()}_API_KEY"] = f"bench-{name}"
        values[f"VIBE_{name.upper()}_BASE_URL"] = url
    return Server(api_argv(), values, "/api/health/ready")


async def _load(url: str, total: int, concurrency: int) -> dict[str, list[float]]:
    """`total` chat requests, `concurrency` at a time; client latency and our overhead (ms)."""
    latency: list[float] = []
    overhead: list[float] = []
    counter = iter(range(total))
    run_id = uuid.uuid4().hex[:6]  # fresh users: each may make 1,000 calls an hour
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient) -> None:
        for i in counter:
            headers = {
                "Remote-User": f"bench-{run_id}-{i // 900}",
                "Remote-Groups": "vibecode-premium",
            }
            started = time.perf_counter()
            r = await client.post("/v1/chat/completions", json=CHAT, headers=headers)
            latency.append((time.perf_counter() - started) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"{r.status_code}: {r.text[:200]}")
            overhead.append(float(r.headers["x-vibe-overhead-ms"]))

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        await asyncio.gather(*[worker(client) for _ in range(concurrency)])
    return {"latency": latency, "overhead": overhead}


def _wrk_load(
    url: str, seconds: int, concurrency: int, ramp_ms: int = 0
) -> tuple[list[float], dict[str, float]]:
    """Chat requests from `concurrency` connections for `seconds` with wrk (C, a few µs of CPU
    per request, where httpx takes ~1 ms): on 2 shared cores the load generator's own CPU
    would otherwise be taken from the API it measures. Each connection's first request waits
    a random part of `ramp_ms`. Our overhead per answer, and wrk's summary (requests/s, client
    latency)."""
    threads = min(2, concurrency)
    out = wrk_output(
        f"{url}/v1/chat/completions",
        seconds=seconds,
        connections=concurrency,
        threads=threads,
        script=ROOT / "benchmarks" / "chat_overhead.lua",
        args=(uuid.uuid4().hex[:6], str(ramp_ms), str(concurrency // threads)),
    )
    overhead, failures = [], 0
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        if key == "overhead":
            overhead.append(float(value))
        elif key == "failures":
            failures += int(float(value))
    if failures or not overhead:
        raise RuntimeError(f"{failures} chat requests failed under wrk: {out[-500:]}")
    return overhead, wrk_summary(out)


def _overhead_row(
    area: Area, key: str, label: str, load: tuple[list[float], dict[str, float]], target: bool
) -> None:
    overhead, summary = load
    area.raw[key] = overhead
    med, p99 = statistics.median(overhead), _pct(overhead, 0.99)
    area.rows.append(
        Row(
            label,
            f"median {med:.2f} / p99 {p99:.2f}",
            "ms",
            "median <= 1, p99 <= 5" if target else "",
            (med <= 1 and p99 <= 5) if target else None,
            f"{len(overhead)} requests, {summary['rps']:.0f} requests/s; "
            f"client latency median {summary['p50_ms']:.1f} ms",
        )
    )


def _direct(fake_url: str, seconds: int) -> dict[str, float]:
    """wrk's summary for the same chat requests sent straight to the fake provider."""
    out = wrk_output(
        f"{fake_url}/chat/completions",
        seconds=seconds,
        connections=1,
        script=ROOT / "benchmarks" / "chat_overhead.lua",
        args=("direct",),
    )
    return wrk_summary(out)


def _end_to_end_row(area: Area, through: dict[str, float], direct: dict[str, float]) -> None:
    added = through["p50_ms"] - direct["p50_ms"]
    area.rows.append(
        Row(
            "latency added end to end, concurrency 1 (client: through the API - straight to "
            "the fake provider), median",
            round(added, 2),
            "ms",
            "",
            None,
            f"{through['p50_ms']:.2f} against {direct['p50_ms']:.2f} ms; besides the overhead "
            "above: the upstream HTTP client's own work, one more loopback hop each way and "
            "two more processes woken per request",
        )
    )


async def _stream_times(
    url: str, n: int, headers: dict[str, str]
) -> list[list[tuple[float, bytes]]]:
    """Each of `n` streamed chats as (arrival ms from the request, line) per data line."""
    out = []
    async with httpx.AsyncClient(timeout=30) as client:
        for _ in range(n):
            started, lines = time.perf_counter(), []
            async with client.stream(
                "POST", url, json={**CHAT, "stream": True}, headers=headers
            ) as r:
                async for line in r.aiter_lines():
                    if line.startswith("data:"):
                        lines.append(((time.perf_counter() - started) * 1000, line.encode()))
            out.append(lines)
    return out


def _seam_row(area: Area, data: Path, n: int) -> None:
    """What continuing a stream cut after its first token adds at the seam: the gap between the
    last token before the cut and the first one after, against the fallback's own time to its
    first token (straight to it)."""
    cut, cut_url = _fake(latency_ms=5, fault="cut_after_first_token")
    fallback, fallback_url = _fake(latency_ms=20)
    cut.wait_ready()
    fallback.wait_ready()
    try:
        direct = asyncio.run(_stream_times(f"{fallback_url}/chat/completions", n, {}))
        first = [
            next(t for t, line in s if b'"content": "' in line and b'""' not in line)
            for s in direct
        ]
        api = _api(data / "s", {"megallm": cut_url, "openrouter": fallback_url})
        try:
            api.wait_ready()
            headers = {  # premium: 1,000 calls an hour, more than this row makes
                "Remote-User": f"seam-{uuid.uuid4().hex[:8]}",
                "Remote-Groups": "vibecode-premium",
            }
            url = f"{api.url}/v1/chat/completions"
            asyncio.run(_stream_times(url, 10, headers))  # warm-up
            runs = asyncio.run(_stream_times(url, n, headers))
        finally:
            api.stop()
    finally:
        cut.stop()
        fallback.stop()
    gaps = []
    for lines in runs:
        at = next(i for i, (_, line) in enumerate(lines) if b'"provider"' in line)
        gaps.append(lines[at][0] - lines[at - 1][0])
    own, seam = statistics.median(first), statistics.median(gaps)
    area.rows.append(
        Row(
            "mid-stream continuation, gap at the seam (median)",
            round(seam, 2),
            "ms",
            "<= the fallback's first-token time + 5 ms",
            seam <= own + 5,
            f"{n} streams cut after their first token and continued; the fallback's own "
            f"first-token time {own:.2f} ms (20 ms latency, straight to it)",
        )
    )


def run(quick: bool = False) -> Area:
    area = Area("Provider gateway", "make bench  (benchmarks/gateway.py)")
    data = Path(tempfile.mkdtemp(prefix="vibe-bench-gateway-"))
    seconds = 3 if quick else 10
    fake, fake_url = _fake(latency_ms=20)
    model, model_url = _fake(MODEL_LATENCY_MS, MODEL_JITTER_MS)
    fake.wait_ready()
    model.wait_ready()
    try:
        api = _api(data / "a", {"megallm": fake_url})
        try:
            api.wait_ready()
            asyncio.run(_load(api.url, 100, 4))  # warm up pools and prepared statements
            for concurrency in (1, 8):  # 8: where this box's one worker still keeps up
                load = _wrk_load(api.url, seconds, concurrency)
                _overhead_row(
                    area,
                    f"overhead concurrency {concurrency}",
                    f"overhead, concurrency {concurrency}, upstream 20 ms",
                    load,
                    target=concurrency == 1,
                )
                if concurrency == 1:
                    _end_to_end_row(area, load[1], _direct(fake_url, seconds))
            overhead, summary = _wrk_load(api.url, seconds, 64)
            area.raw["overhead concurrency 64, saturated"] = overhead
            area.rows.append(
                Row(
                    "capacity of one worker: concurrency 64, upstream 20 ms",
                    round(summary["rps"]),
                    "requests/s",
                    "",
                    None,
                    f"~3,200 requests/s offered; overhead median "
                    f"{statistics.median(overhead):.2f} / p99 {_pct(overhead, 0.99):.2f} ms, "
                    "mostly queueing",
                )
            )
            baseline = statistics.median(asyncio.run(_load(api.url, 200, 1))["latency"])
        finally:
            api.stop()
        api = _api(data / "m", {"megallm": model_url})
        try:
            api.wait_ready()
            asyncio.run(_load(api.url, 16, 4))
            _overhead_row(
                area,
                "overhead concurrency 64",
                f"overhead, concurrency 64, upstream {MODEL_LATENCY_MS} ± {MODEL_JITTER_MS} ms",
                _wrk_load(api.url, seconds * 2, 64, ramp_ms=MODEL_LATENCY_MS),
                target=True,
            )
        finally:
            api.stop()
        refused = f"http://127.0.0.1:{free_port()}/v1"
        chain = {"megallm": refused, "openrouter": fake_url}
        # Every request fails over (the breaker never trips) ...
        api = _api(data / "b", chain, VIBE_PROVIDER_FAILURE_THRESHOLD="100")
        try:
            api.wait_ready()
            asyncio.run(_load(api.url, 50, 1))
            failing = statistics.median(asyncio.run(_load(api.url, 90, 1))["latency"])
        finally:
            api.stop()
        # ... or the primary trips after 3 failures and is skipped while it cools down.
        api = _api(data / "c", chain, VIBE_PROVIDER_COOLDOWN="3600")
        try:
            api.wait_ready()
            asyncio.run(_load(api.url, 50, 1))
            cooling = statistics.median(asyncio.run(_load(api.url, 200, 1))["latency"])
        finally:
            api.stop()
        _seam_row(area, data, 20 if quick else 100)
    finally:
        fake.stop()
        model.stop()
    added, cooled = failing - baseline, cooling - baseline
    area.rows.append(
        Row(
            "failover from a refused primary, added latency (median)",
            round(added, 2),
            "ms",
            "<= 5 ms",
            added <= 5,
            f"healthy primary {baseline:.2f} ms, failing over {failing:.2f} ms; "
            "the refused connection is retried VIBE_MAX_RETRIES times at once",
        )
    )
    area.rows.append(
        Row(
            "failover once the primary is cooling down, added latency (median)",
            round(cooled, 2),
            "ms",
            "0 ms (noise)",
            abs(cooled) <= 1,
            f"{cooling:.2f} ms against {baseline:.2f} ms",
        )
    )
    area.notes.append(
        "Overhead is what the API reports per request (X-Vibe-Overhead-Ms, LiteLLM's "
        "definition): time from the first middleware to the handler's answer, minus the "
        "upstream call (the HTTP client's request, encoding and decoding included); it "
        "includes identity, routing, body parsing and the start of the hourly-limit count, "
        "whose round trip overlaps the upstream call. The fake providers run as their own "
        "processes; the overhead rows' load comes from wrk (its own CPU per request is tiny, "
        "so it takes little from the API on these 2 shared cores), the failover rows' from "
        "httpx in the benchmark process (medians at concurrency 1)."
    )
    area.notes.append(
        f"Concurrency 64 is measured against a model-like upstream ({MODEL_LATENCY_MS} ± "
        f"{MODEL_JITTER_MS} ms, uniform) with each connection's first request spread over "
        f"{MODEL_LATENCY_MS} ms, as Locust ramps up its users: 64 requests in flight, at a rate "
        "this box can serve. The capacity row sends the same 64 connections to the 20 ms "
        "upstream: ~3,200 requests/s offered, more than one worker sharing 2 cores with the "
        "load generator, the fake provider and PostgreSQL serves, so its requests/s is the "
        "worker's capacity and its overhead is mostly queueing behind other requests. "
        "For scale, LiteLLM publishes overhead median 2 / p99 13 ms at 1,170 requests/s on 4 "
        "instances of 4 CPUs (73 requests/s per CPU)."
    )
    area.notes.append(
        "The end-to-end row is what a client sees: wrk's median through the API minus its "
        "median straight to the same fake provider. It is larger than the overhead because the "
        "overhead, like LiteLLM's, counts the upstream HTTP client's request as upstream time; "
        "LiteLLM publishes 3.25 ms for the same comparison against the OpenAI API."
    )
    area.notes.append(
        "The relays take one injected dependency (the gateway). Litestar resolves two or more "
        "in an anyio task group per request: when the relay also took the caller's identity and "
        "the gateway by injection, one in-process request cost 1,240 µs of CPU instead of "
        "870-940 µs, and this table's overhead rose to median 1.0 / 2.7 / 1.7 ms at "
        "concurrency 1 / 8 / 64 (measured 2026-12-03 while moving handlers to injected services)."
    )
    return area

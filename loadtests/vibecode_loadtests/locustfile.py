"""VibeCode's load test: browsing, search, chat (plain and streaming) and ingest, as signed-in
premium users behind the auth proxy (each virtual user is its own `Remote-User`).

Weights: browsing 6, search 3, chat 2 (one in three streamed), ingest 1 — a console user mostly
looks around and searches, chats less, uploads least. Think time 0.5-2 s between tasks.
At the end, the `quitting` listener checks every target of `thresholds.py` plus the seeds' run
totals (error ratio, average latency, API memory, a provider available) and sets the exit code,
so a missed target fails the run. `--p95-scale` multiplies every p95 target (tests use a tiny
scale to prove a run can fail).
"""

from __future__ import annotations

import itertools
import json
import sys
from typing import Any

import httpx
from locust import FastHttpUser, between, events, task
from locust.env import Environment

from vibecode_loadtests import thresholds

_ids = itertools.count()
DOC = (
    "# Runbook {n}\n\nBlue green deploys keep the previous colour for rollback.\n"
    "Search latency is watched by a P2 monitor at five seconds.\n"
    "Workspaces get quotas from their tier: files, storage and vector chunks.\n"
)


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    parser.add_argument(
        "--p95-scale", type=float, default=1.0, help="multiply every p95 target by this"
    )
    parser.add_argument(
        "--max-rss-mb",
        type=float,
        default=thresholds.SEED_RSS_MB,
        help="the API's RSS budget in MiB (default: the seeds' 128 MB)",
    )


class ConsoleUser(FastHttpUser):
    wait_time = between(0.5, 2)

    def on_start(self) -> None:
        n = next(_ids)
        self.h = {"Remote-User": f"load-{n}", "Remote-Groups": "vibecode-premium"}
        self.n = n
        with self.client.post(
            "/api/workspaces",
            json={"name": f"load{n}"},
            name="POST /api/workspaces",
            headers=self.h,
            catch_response=True,
        ) as r:
            if r.status_code != 201:
                r.failure(f"workspace: HTTP {r.status_code}")
                raise RuntimeError("no workspace")
            self.ws = r.json()["id"]
        self._upload(0)

    def _upload(self, version: int) -> None:
        self.client.post(
            f"/api/workspaces/{self.ws}/files",
            files={"file": (f"runbook-{version % 3}.md", DOC.format(n=version).encode())},
            name="POST /api/workspaces/{id}/files",
            headers=self.h,
        )

    @task(2)
    def health(self) -> None:
        self.client.get("/api/health", name="GET /api/health", headers=self.h)

    @task(1)
    def me(self) -> None:
        self.client.get("/api/me", name="GET /api/me", headers=self.h)

    @task(1)
    def usage(self) -> None:
        self.client.get("/api/usage", name="GET /api/usage", headers=self.h)

    @task(2)
    def workspaces(self) -> None:
        self.client.get("/api/workspaces", name="GET /api/workspaces", headers=self.h)

    @task(3)
    def search(self) -> None:
        self.client.post(
            f"/api/workspaces/{self.ws}/search",
            json={"query": "how do we roll back a deploy"},
            name="POST /api/workspaces/{id}/search",
            headers=self.h,
        )

    @task(1)
    def chat(self) -> None:
        body = {
            "messages": [{"role": "user", "content": "How do we roll back?"}],
            "workspaceId": self.ws,
        }
        self.client.post("/api/chat", json=body, name="POST /api/chat", headers=self.h)

    @task(1)
    def chat_stream(self) -> None:
        body = {
            "messages": [{"role": "user", "content": "What do quotas cover?"}],
            "workspaceId": self.ws,
            "stream": True,
        }
        with self.client.post(
            "/api/chat",
            json=body,
            name="POST /api/chat (stream)",
            headers=self.h,
            catch_response=True,
        ) as r:
            text = r.text or ""
            if r.status_code != 200:
                r.failure(f"HTTP {r.status_code}")
            elif "event: error" in text:
                r.failure("stream ended with an error event: " + text.rsplit("data: ", 1)[-1][:200])
            elif "event: done" not in text:
                r.failure("stream ended without a done event")

    @task(1)
    def ingest(self) -> None:
        self._upload(next(_ids))


def _check(environment: Environment) -> list[tuple[str, str, bool]]:
    """(what, measured vs target, met) for every target and the seeds' totals."""
    scale = getattr(environment.parsed_options, "p95_scale", 1.0)
    stats = environment.stats
    rows: list[tuple[str, str, bool]] = []
    for target in thresholds.TARGETS:
        method = target.name.partition(" ")[0]
        entry = stats.entries.get((target.name, method))
        if entry is None or entry.num_requests == 0:
            rows.append((target.name, "no requests", False))
            continue
        p95 = entry.get_response_time_percentile(0.95) or 0.0
        limit = target.p95_ms * scale
        ratio = entry.fail_ratio
        rows.append((f"{target.name} p95", f"{p95:.0f} ms <= {limit:.0f} ms", p95 <= limit))
        rows.append(
            (
                f"{target.name} avg",
                f"{entry.avg_response_time:.0f} ms < {target.avg_ms:.0f} ms",
                entry.avg_response_time < target.avg_ms,
            )
        )
        rows.append(
            (
                f"{target.name} errors",
                f"{ratio:.2%} <= {target.error_ratio:.0%}",
                ratio <= target.error_ratio,
            )
        )
    total = stats.total
    rows.append(
        (
            "all requests: error ratio (seed)",
            f"{total.fail_ratio:.2%} < 10%",
            total.fail_ratio < thresholds.SEED_ERROR_RATIO,
        )
    )
    rows.append(
        (
            "all requests: average (seed)",
            f"{total.avg_response_time:.0f} ms < 5000 ms",
            total.avg_response_time < thresholds.SEED_AVG_MS,
        )
    )
    host = environment.host or ""
    try:
        health = httpx.get(f"{host}/api/health", timeout=10).json()
        rss = float(health["checks"]["memory"]["rssMb"])
        budget = getattr(environment.parsed_options, "max_rss_mb", thresholds.SEED_RSS_MB)
        rows.append(("API RSS after the run", f"{rss:.1f} MiB < {budget:.1f} MiB", rss < budget))
        provider = health["checks"]["provider"]
        live = [
            p
            for p in provider.get("providers", [])
            if p.get("configured") and not p.get("coolingDown")
        ]
        offline = provider.get("mode") == "offline"
        rows.append(
            (
                "a provider available (seed)",
                "offline mode" if offline else f"{len(live)} available",
                offline or bool(live),
            )
        )
    except (httpx.HTTPError, KeyError, ValueError) as err:
        rows.append(("API health after the run", f"unreadable: {err}", False))
    return rows


@events.quitting.add_listener
def _verdict(environment: Environment, **_: Any) -> None:
    rows = _check(environment)
    width = max(len(r[0]) for r in rows)
    print("\nthresholds:", file=sys.stderr)
    for what, measured, met in rows:
        print(f"  {'PASS' if met else 'FAIL'}  {what:<{width}}  {measured}", file=sys.stderr)
    failed = [r for r in rows if not r[2]]
    print(f"{len(rows) - len(failed)}/{len(rows)} thresholds met", file=sys.stderr)
    report = getattr(environment.parsed_options, "csv_prefix", None)
    if report:
        with open(f"{report}_thresholds.json", "w") as fh:
            json.dump([{"check": w, "measured": m, "met": ok} for w, m, ok in rows], fh, indent=2)
    if failed:
        environment.process_exit_code = 1

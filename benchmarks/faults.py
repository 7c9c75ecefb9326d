"""Faults under load: Locust's mixed load on the embedded defaults while the embedded database is
SIGKILLed once and the primary provider flaps (503s, then streams cut after their first token).

The verdict (issue #23): no 5xx other than the documented 503s, no acknowledged upload lost, no
stream answered 200 without its `done`, and p95 back to normal within 30 s of each fault. A
writer beside Locust uploads a new file every 0.2 s and keeps what was acknowledged (200/201),
then reads the workspace back. "Normal" is 1.5x the p95 of the quiet stretch before the first
fault (Locust's history: the p95 of the last 10 s, once a second).
"""

from __future__ import annotations

import csv
import hashlib
import os
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from vibecode_fakeprovider import FakeProvider, serve_in_thread
from vibecode_loadtests.run import locust, p99_history

from ._harness import Area, Row, Server

USERS = 30
WRITER = {"Remote-User": "faults-writer", "Remote-Groups": "vibecode-premium"}
RECOVERY_S = 30.0
READY_S = 15.0
FLAP_FAULTS = ("503", "none", "cut_after_first_token", "none")
FLAP_STEP_S = 5.0
FILES_PER_WORKSPACE = 400


class Writer(threading.Thread):
    """Uploads until stopped; remembers each acknowledged (path, sha256) and every status."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.stopped = url, threading.Event()
        self.acknowledged: dict[str, str] = {}
        self.statuses: Counter[int] = Counter()
        self.workspaces: list[str] = []

    def run(self) -> None:
        with httpx.Client(base_url=self.url, headers=WRITER, timeout=30) as http:
            n = 0
            while not self.stopped.wait(0.2):
                # A new workspace every FILES_PER_WORKSPACE files: the tier allows 500.
                if len(self.workspaces) <= n // FILES_PER_WORKSPACE:
                    try:
                        ws = http.post("/api/workspaces", json={"name": f"faults-{n}"})
                    except httpx.TransportError:
                        self.statuses[0] += 1
                        continue
                    self.statuses[ws.status_code] += 1
                    if ws.status_code == 201:
                        self.workspaces.append(ws.json()["id"])
                    continue
                n += 1
                body = f"# note {n}\n\nwritten at {time.time()}\n".encode()
                try:
                    r = http.post(
                        f"/api/workspaces/{self.workspaces[-1]}/files",
                        files={"file": (f"n{n}.md", body)},
                    )
                except httpx.TransportError:
                    self.statuses[0] += 1
                    continue
                self.statuses[r.status_code] += 1
                if r.status_code in (200, 201):
                    self.acknowledged[f"n{n}.md"] = hashlib.sha256(body).hexdigest()

    def lost(self) -> list[str]:
        stored = {}
        for ws in self.workspaces:
            files = httpx.get(f"{self.url}/api/workspaces/{ws}/files", headers=WRITER).json()
            stored.update({f["path"]: f["sha256"] for f in files})
        return [p for p, digest in self.acknowledged.items() if stored.get(p) != digest]


def _postmaster(data: Path) -> int:
    return int((data / "pgdata" / "postmaster.pid").read_text().split("\n", 1)[0])


def _failures(out: Path) -> tuple[Counter[int], int, int]:
    """Locust's failures by HTTP status (0: no status); 200 streams that just stopped (no
    `done`, no `error`); and streams that ended with an error event (no provider could go on)."""
    statuses: Counter[int] = Counter()
    undone = errors = 0
    with (out / "loadtest_failures.csv").open() as fh:
        for row in csv.DictReader(fh):
            count = int(row["Occurrences"])
            if "without a done event" in row["Error"]:
                undone += count
                continue
            if "with an error event" in row["Error"]:
                errors += count
                continue
            code = re.search(r"\b([1-5]\d\d)\b", row["Error"])
            statuses[int(code.group(1)) if code else 0] += count
    return statuses, undone, errors


def _recovery(history: list[tuple[float, float]], ended: float, normal: float) -> float | None:
    """Seconds from a fault's end until the p95 is back at `normal` (None: it never was)."""
    for t, p95 in history:
        if t >= ended and p95 <= normal:
            return max(0.0, t - ended)
    return None


def _within(metric: str, seconds: float | None, note: str) -> Row:
    """A recovery row: seconds until normal again (or never), against RECOVERY_S."""
    if seconds is None:
        return Row(metric, "never", "", f"<= {RECOVERY_S:.0f} s", False, note)
    return Row(
        metric, round(seconds, 1), "s", f"<= {RECOVERY_S:.0f} s", seconds <= RECOVERY_S, note
    )


def run(quick: bool = False) -> Area:
    seconds = 100 if quick else 150
    kill_at, flap_from, flap_until = 40.0, 65.0, 65.0 + 4 * FLAP_STEP_S * (1 if quick else 1.5)
    area = Area(
        f"Faults under load ({seconds} s, {USERS} users)",
        "make bench  (benchmarks/faults.py: Locust's mixed load; the embedded database "
        f"SIGKILLed at {kill_at:.0f} s; the primary provider flapping from {flap_from:.0f} s "
        f"to {flap_until:.0f} s)",
    )
    work = Path(tempfile.mkdtemp(prefix="vibe-bench-faults-"))
    primary = serve_in_thread(FakeProvider(name="primary", latency_ms=50, tokens_per_second=200))
    fallback = serve_in_thread(FakeProvider(name="fallback", latency_ms=50, tokens_per_second=200))
    env = {
        "VIBE_DATA_DIR": str(work / "data"),
        "VIBE_LOG_LEVEL": "warn",
        "VIBE_DOGSTATSD": "false",
        "VIBE_SAMPLES": "false",
        "MEGALLM_API_KEY": "bench",
        "VIBE_MEGALLM_BASE_URL": primary.url,
        "OPENROUTER_API_KEY": "bench",
        "VIBE_OPENROUTER_BASE_URL": fallback.url,
        "VIBE_FALLBACK_PROVIDERS": "openrouter",
    }
    server = Server([sys.executable, "-m", "vibecode_api"], env, "/api/health/ready", cwd=work)
    server.wait_ready(180)
    writer = Writer(server.url)
    out = work / "locust"
    exit_code: list[int] = []
    load = threading.Thread(
        target=lambda: exit_code.append(
            locust(
                server.url,
                users=USERS,
                duration=f"{seconds}s",
                out=out,
                p95_scale=1000,
                max_rss_mb=4096,
                history=True,
                on_output=lambda _: None,
            )
        ),
        daemon=True,
    )
    start = time.time()
    load.start()
    writer.start()

    def at(offset: float) -> None:
        time.sleep(max(0.0, start + offset - time.time()))  # the bench's own schedule

    try:
        at(kill_at)
        killed = time.time()
        os.kill(_postmaster(work / "data"), signal.SIGKILL)
        ready = None
        while time.time() - killed < 120:
            try:
                if httpx.get(f"{server.url}/api/health/ready", timeout=2).status_code == 200:
                    ready = time.time()
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)  # polling the probe, as Kubernetes would
        at(flap_from)
        step = 0
        while time.time() < start + flap_until:
            primary.fake.fault = FLAP_FAULTS[step % len(FLAP_FAULTS)]
            step += 1
            at(flap_from + step * FLAP_STEP_S)
        primary.fake.fault = "none"
        flapped = time.time()
        load.join(seconds + 120)
    finally:
        writer.stopped.set()
        writer.join(60)
    lost = writer.lost()
    served_by_fallback = fallback.fake.requests
    server.stop()
    primary.stop()
    fallback.stop()

    statuses, undone, stream_errors = _failures(out)
    for code, n in writer.statuses.items():
        if code >= 500 or code == 0:
            statuses[code] += n
    history = p99_history(out, "95%")
    quiet = [p for t, p in history if start + 15 <= t < start + kill_at]
    baseline = statistics.median(quiet) if quiet else 0.0
    normal = 1.5 * baseline
    recovered_db = _recovery(history, ready or killed, normal)
    recovered_flap = _recovery(history, flapped, normal)
    other_5xx = sum(n for code, n in statuses.items() if code >= 500 and code != 503)
    area.raw.update(
        statuses={str(k): v for k, v in statuses.items()},
        writer=dict(writer.statuses),
        p95_history=[(round(t - start, 1), p) for t, p in history],
        exit_code=exit_code[0] if exit_code else None,
    )
    down = (ready - killed) if ready else None
    area.rows += [
        Row(
            "embedded database SIGKILLed → ready again",
            round(down, 1) if down is not None else "never",
            "s" if down is not None else "",
            f"<= {READY_S:.0f} s",
            down is not None and down <= READY_S,
            "the supervisor restarts it; the pool reconnects; the API is not restarted",
        ),
        Row(
            "5xx other than the documented 503",
            other_5xx,
            "",
            "0",
            other_5xx == 0,
            f"503 answers (database_unavailable, with Retry-After): {statuses.get(503, 0)}; "
            f"no answer at all: {statuses.get(0, 0)}",
        ),
        Row(
            "acknowledged uploads lost",
            len(lost),
            "",
            "0",
            not lost,
            f"{len(writer.acknowledged)} acknowledged by the writer, read back after the run",
        ),
        Row(
            "streams that stopped without `done` or `error`",
            undone,
            "",
            "0",
            undone == 0,
            "a cut stream is continued on the fallback, or ends with an error event "
            f"(here: {stream_errors})",
        ),
        _within(
            "p95 back to normal after the database restart",
            recovered_db,
            f"normal: <= {normal:.0f} ms (1.5x the quiet p95 of {baseline:.0f} ms)",
        ),
        _within(
            "p95 back to normal after the provider stops flapping",
            recovered_flap,
            f"the fallback served {served_by_fallback} provider requests",
        ),
    ]
    area.notes.append(
        f"Failures by status (Locust and the writer): {dict(sorted(statuses.items()))}; the "
        f"writer's answers: {dict(sorted(writer.statuses.items()))}."
    )
    return area

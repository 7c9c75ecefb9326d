"""`python -m vibecode_loadtests.run`: the API on its embedded defaults, the shared fake provider
and Locust headless, then pass/fail per threshold (exit status 1 when any is missed).

`--url` skips starting anything and loads an existing deployment (what `vibe loadtest` does).
`--soak` (what `make soak` runs) also samples the API's RSS every 10 s and fails when p99 latency
or RSS grow more than 10 % from the first to the last minute.
Reports: `<out>/loadtest_stats.csv` (and the other Locust CSVs), `<out>/loadtest.html`,
`<out>/loadtest_thresholds.json`.
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
FAKE_LATENCY_MS = 50
FAKE_TOKENS_PER_SECOND = 200


def _listening_socket() -> socket.socket:
    """A loopback socket, bound and listening, for a child to inherit (`pass_fds`): a port
    picked by binding and closing a probe can be handed to another process before the child
    binds it. (Ours: this package talks HTTP only and imports none of the services.)"""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)  # polling a starting server
    raise RuntimeError(f"{url} not ready after {timeout} s")


@contextmanager
def local_platform(work: Path) -> Iterator[str]:
    """The fake provider and the API (embedded database in `work`), on loopback; the API URL."""
    fake_sock, api_sock = _listening_socket(), _listening_socket()
    fake_port, api_port = fake_sock.getsockname()[1], api_sock.getsockname()[1]
    logs = (work / "fakeprovider.log").open("ab"), (work / "api.log").open("ab")
    fake = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vibecode_fakeprovider",
            "--fd",
            str(fake_sock.fileno()),
            "--latency-ms",
            str(FAKE_LATENCY_MS),
            "--tokens-per-second",
            str(FAKE_TOKENS_PER_SECOND),
        ],
        stdout=logs[0],
        stderr=subprocess.STDOUT,
        pass_fds=(fake_sock.fileno(),),
    )
    env = {
        **os.environ,
        "VIBE_PORT": str(api_port),
        "VIBE_LISTEN_FD": str(api_sock.fileno()),
        "VIBE_DATA_DIR": str(work / "data"),
        "VIBE_LOG_LEVEL": "warn",
        "MEGALLM_API_KEY": "loadtest",
        "VIBE_MEGALLM_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
        "VIBE_FALLBACK_PROVIDERS": "",
    }
    api = subprocess.Popen(
        [sys.executable, "-m", "vibecode_api"],
        env=env,
        stdout=logs[1],
        stderr=subprocess.STDOUT,
        pass_fds=(api_sock.fileno(),),
    )
    fake_sock.close()  # the children have their own copies
    api_sock.close()
    url = f"http://127.0.0.1:{api_port}"
    try:
        _wait(f"http://127.0.0.1:{fake_port}/_stats", fake)
        _wait(f"{url}/api/health/ready", api)
        yield url
    finally:
        for proc in (api, fake):
            proc.send_signal(2)
        for proc in (api, fake):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        for log in logs:
            log.close()


def locust(
    url: str,
    *,
    users: int,
    duration: str,
    out: Path,
    p95_scale: float = 1.0,
    max_rss_mb: float | None = None,
    history: bool = False,
    on_output: Callable[[str], None] | None = None,
) -> int:
    """Locust headless against `url`; its exit status (1 when a threshold was missed)."""
    out.mkdir(parents=True, exist_ok=True)
    argv = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        url,
        "-u",
        str(users),
        "-r",
        str(max(1, users // 5)),
        "-t",
        duration,
        "--csv",
        str(out / "loadtest"),
        "--html",
        str(out / "loadtest.html"),
        "--only-summary",
        "--stop-timeout",
        "10",
        "--p95-scale",
        str(p95_scale),
    ]
    if max_rss_mb is not None:
        argv += ["--max-rss-mb", str(max_rss_mb)]
    if history:
        argv.append("--csv-full-history")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        (on_output or (lambda s: print(s, end="", flush=True)))(line)
    return proc.wait()


SOAK_GROWTH = 0.10
SAMPLE_SECONDS = 10.0


class RssSampler(threading.Thread):
    """The API's RSS (its `/api/health` memory check) every SAMPLE_SECONDS, with timestamps."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.samples = url, []  # type: ignore[var-annotated]
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(SAMPLE_SECONDS):
            try:
                health = httpx.get(f"{self.url}/api/health", timeout=5).json()
                self.samples.append((time.time(), float(health["checks"]["memory"]["rssMb"])))
            except (httpx.HTTPError, KeyError, ValueError):
                continue


def minute_ends(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Median of the first minute's values and of the last minute's."""
    start, end = points[0][0], points[-1][0]
    first = [v for t, v in points if t - start <= 60]
    last = [v for t, v in points if end - t <= 60]
    return statistics.median(first), statistics.median(last)


def p99_history(out: Path, column: str = "99%") -> list[tuple[float, float]]:
    """(timestamp, p99 ms) of all requests, from Locust's `--csv-full-history` (another
    percentile with `column`, e.g. "95%"; each is over the last 10 s)."""
    with (out / "loadtest_stats_history.csv").open() as fh:
        return [
            (float(r["Timestamp"]), float(r[column]))
            for r in csv.DictReader(fh)
            if r["Name"] == "Aggregated" and r[column] not in ("N/A", "0", "")
        ]


def rss_history(out: Path) -> list[tuple[float, float]]:
    """(timestamp, API RSS MiB) as a soak run wrote them (`rss.csv`)."""
    with (out / "rss.csv").open() as fh:
        return [(float(r["timestamp"]), float(r["rss_mib"])) for r in csv.DictReader(fh)]


def soak_verdict(out: Path, rss: list[tuple[float, float]]) -> list[str]:
    """Failures: p99 (Locust's history, aggregated) or RSS that grew more than 10 %."""
    p99 = p99_history(out)
    failures = []
    for name, points in (("p99 latency (ms)", p99), ("API RSS (MiB)", rss)):
        if len(points) < 2:
            failures.append(f"{name}: not enough samples")
            continue
        first, last = minute_ends(points)
        growth = (last - first) / first if first else 0.0
        print(f"soak: {name} first minute {first:.1f}, last minute {last:.1f} ({growth:+.1%})")
        if growth > SOAK_GROWTH:
            failures.append(f"{name} grew {growth:.1%} (> {SOAK_GROWTH:.0%})")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--duration", default="2m")
    parser.add_argument("--out", type=Path, default=Path("build/loadtest"))
    parser.add_argument("--url", help="load this deployment instead of a local API")
    parser.add_argument("--p95-scale", type=float, default=1.0)
    parser.add_argument("--max-rss-mb", type=float, help="API RSS budget (default: 128 MB)")
    parser.add_argument("--soak", action="store_true", help="also fail on p99 or RSS growth")
    args = parser.parse_args(argv)
    options: dict[str, Any] = {
        "users": args.users,
        "duration": args.duration,
        "out": args.out,
        "p95_scale": args.p95_scale,
        "max_rss_mb": args.max_rss_mb,
    }
    if args.url:
        return _run(args.url, args.soak, options)
    with (
        tempfile.TemporaryDirectory(prefix="vibe-loadtest-") as work,
        local_platform(Path(work)) as url,
    ):
        return _run(url, args.soak, options)


def _run(url: str, soak: bool, options: dict[str, Any]) -> int:
    if not soak:
        return locust(url, **options)
    sampler = RssSampler(url)
    sampler.start()
    try:
        code = locust(url, history=True, **options)
    finally:
        sampler.stopped.set()
        sampler.join()
    with (options["out"] / "rss.csv").open("w", newline="") as fh:  # for plots and reports
        csv.writer(fh).writerows([("timestamp", "rss_mib"), *sampler.samples])
    failures = soak_verdict(options["out"], sampler.samples)
    for failure in failures:
        print(f"soak: FAIL {failure}")
    return code or (1 if failures else 0)


if __name__ == "__main__":
    raise SystemExit(main())

"""What every benchmark area shares: the machine, a server process, wrk, and a results table."""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from vibecode_api.children import free_port

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Row:
    metric: str
    value: float | str
    unit: str = ""
    target: str = ""
    ok: bool | None = None
    note: str = ""


@dataclass
class Area:
    title: str
    command: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    measured: str = ""
    """When this area's numbers were taken (UTC); `--only` keeps the other areas' own."""


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = psutil.virtual_memory().total / 2**30
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    )


class Server:
    """A server command on a free loopback port, timed from spawn to its readiness URL."""

    def __init__(
        self, argv: list[str], env: dict[str, str], ready_path: str, cwd: Path | None = None
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cwd = cwd or Path(tempfile.mkdtemp(prefix="vibe-bench-"))
        full = {**os.environ, **env, "VIBE_PORT": str(self.port)}
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        self.log = (self.cwd / "server.log").open("ab")
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, env=full, cwd=self.cwd, stdout=self.log, stderr=subprocess.STDOUT
        )
        self.ready_path = ready_path

    def wait_ready(self, timeout: float = 60) -> float:
        """Seconds from spawn until the readiness URL answered 200."""
        deadline = self.started + timeout
        with httpx.Client(timeout=1) as client:
            while time.perf_counter() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited {self.proc.returncode}; see {self.log.name}")
                try:
                    if client.get(self.url + self.ready_path).status_code == 200:
                        return time.perf_counter() - self.started
                except httpx.TransportError:
                    pass
                time.sleep(0.01)
        raise RuntimeError(f"not ready after {timeout}s")

    def rss_mb(self) -> dict[str, float]:
        """RSS in MiB of the main process, each API worker, and the embedder process."""
        main = psutil.Process(self.proc.pid)
        out = {"main": main.memory_info().rss / 2**20}
        workers = 0
        for child in main.children(recursive=True):
            if child.name() == "postgres":
                continue
            if any("embed_server" in part for part in child.cmdline()):
                out["embedder"] = child.memory_info().rss / 2**20
                continue
            workers += 1
            out[f"worker{workers}"] = child.memory_info().rss / 2**20
        return out

    def cpu_seconds(self) -> float:
        """User + system CPU of the server's own processes (its database excluded)."""
        main = psutil.Process(self.proc.pid)
        procs = [main, *(c for c in main.children(recursive=True) if c.name() != "postgres")]
        return sum(p.cpu_times().user + p.cpu_times().system for p in procs)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def wrk_output(
    url: str,
    *,
    seconds: int = 10,
    connections: int = 50,
    threads: int = 1,
    script: Path | None = None,
    args: tuple[str, ...] = (),
) -> str:
    """Run wrk against a URL (optionally with a Lua script and its arguments); its whole output,
    latency distribution included."""
    exe = shutil.which("wrk")
    if exe is None:
        raise RuntimeError("wrk is not installed (make bench installs it with apt-get as root)")
    extra = ["-s", str(script)] if script else []
    argv = [exe, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", *extra, url]
    if args:
        argv += ["--", *args]
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def wrk_summary(out: str) -> dict[str, float]:
    """requests/s, requests, p50/p99 latency (ms) and non-2xx/3xx answers from wrk's output."""
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = re.search(r"(\d+) requests in", out)
    result = {"rps": rps, "requests": float(total.group(1)) if total else 0.0}
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        if m:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
            result[f"p{pct}_ms"] = float(m.group(1)) * scale
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["non2xx"] = float(errors.group(1)) if errors else 0.0
    return result


def wrk(
    url: str,
    *,
    seconds: int = 10,
    connections: int = 50,
    threads: int = 1,
    script: Path | None = None,
) -> dict[str, float]:
    """Run wrk against a URL (optionally with a Lua request script); requests/s and latency
    percentiles."""
    return wrk_summary(
        wrk_output(url, seconds=seconds, connections=connections, threads=threads, script=script)
    )


def api_argv() -> list[str]:
    return [sys.executable, "-m", "vibecode_api"]


def run_command(argv: list[str], lines: int = 3) -> tuple[int, str]:
    """Run a command to completion; its exit code and its last `lines` lines of output."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)
    out = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode, " / ".join(out[-lines:])


def p95_of(values: list[float]) -> float:
    """The 95th percentile as the nearest rank below (the RAG table and its plot agree)."""
    return sorted(values)[int(0.95 * (len(values) - 1))]

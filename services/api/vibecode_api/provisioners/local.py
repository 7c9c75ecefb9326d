"""The embedded default: one real code-server process per session, on 127.0.0.1.

Each session gets a free port, its own user-data and extensions folders under
`VIBE_DATA_DIR/workspaces/<namespace>/`, and password auth with a generated secret that only the
owner is shown. The process runs in its own process group so that stopping it takes its helpers
too; its pid, port and start time are the handle, so a session left over from an API crash can be
recognised (and adopted or cleaned up) at the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psutil

from .. import children
from ..logs import get_logger
from ..settings import Settings
from .base import Handle, Probe, ProvisionError, SessionState, WorkspaceRef

log = get_logger(__name__)

INSTALL_HINT = (
    "code-server is not installed: run `make code-server` (installs code-server 4.99.4 from the "
    "npm registry) or set VIBE_CODE_SERVER_BIN to its path"
)


class LocalProvisioner:
    name = "local"

    def __init__(self, settings: Settings) -> None:
        self.binary = settings.code_server_bin
        self.root = settings.data_dir.resolve() / "workspaces"
        self._http = httpx.AsyncClient(timeout=2.0)

    def _resolve_binary(self) -> str:
        path = shutil.which(self.binary)
        if path is None:
            raise ProvisionError(INSTALL_HINT)
        return path

    def folders(self, ws: WorkspaceRef) -> dict[str, Path]:
        base = self.root / ws.namespace
        return {
            "base": base,
            "project": base / "project",
            "data": base / "user-data",
            "extensions": base / "extensions",
        }

    async def start(self, ws: WorkspaceRef) -> Handle:
        binary = self._resolve_binary()
        dirs = self.folders(ws)
        for path in dirs.values():
            path.mkdir(parents=True, exist_ok=True)
        port = children.free_port()
        password = secrets.token_urlsafe(18)
        argv = [
            binary,
            "--bind-addr",
            f"127.0.0.1:{port}",
            "--auth",
            "password",
            "--config",
            str(dirs["base"] / "config.yaml"),
            "--user-data-dir",
            str(dirs["data"]),
            "--extensions-dir",
            str(dirs["extensions"]),
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            str(dirs["project"]),
        ]
        env = {**os.environ, "PASSWORD": password}
        env.pop("HASHED_PASSWORD", None)
        with (dirs["base"] / "code-server.log").open("ab") as out:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                env=env,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        created = psutil.Process(proc.pid).create_time()
        url = f"http://127.0.0.1:{port}/?folder={quote(str(dirs['project']))}"
        log.info("code_server_started", workspace=ws.id, pid=proc.pid, port=port)
        return {"pid": proc.pid, "created": created, "port": port, "password": password, "url": url}

    def _process(self, handle: Handle) -> psutil.Process | None:
        try:
            proc = psutil.Process(int(handle["pid"]))
            if abs(proc.create_time() - float(handle["created"])) > 1:
                return None  # the pid was reused by something else
            if proc.status() == psutil.STATUS_ZOMBIE:
                return None
            return proc
        except (psutil.Error, KeyError, ValueError):
            return None

    async def probe(self, ws: WorkspaceRef, handle: Handle) -> Probe:
        if self._process(handle) is None:
            tail = self._log_tail(ws)
            return Probe(
                SessionState.error, error=f"code-server exited{': ' + tail if tail else ''}"
            )
        try:
            r = await self._http.get(f"http://127.0.0.1:{handle['port']}/healthz")
        except httpx.TransportError:
            return Probe(SessionState.starting)
        if r.status_code != 200:
            return Probe(SessionState.starting)
        beat = r.json().get("lastHeartbeat")
        return Probe(
            SessionState.ready,
            url=handle["url"],
            last_heartbeat=beat / 1000 if isinstance(beat, int | float) and beat else None,
        )

    async def stop(self, ws: WorkspaceRef, handle: Handle) -> None:
        proc = self._process(handle)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        loop = asyncio.get_running_loop()
        _gone, alive = await loop.run_in_executor(None, lambda: psutil.wait_procs([proc], 5))
        if alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        log.info("code_server_stopped", workspace=ws.id, pid=proc.pid)

    def public(self, handle: Handle) -> dict[str, Any]:
        return {"password": handle.get("password")} if handle.get("password") else {}

    def _log_tail(self, ws: WorkspaceRef) -> str:
        path = self.folders(ws)["base"] / "code-server.log"
        try:
            lines = path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return lines[-1][-300:] if lines else ""

    async def aclose(self) -> None:
        await self._http.aclose()

"""API fixtures: the real app over a real database, driven in-process or as a real server."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from litestar import Litestar
from litestar.testing import TestClient
from litestar.testing.transport import TestClientTransport
from vibecode_api.app import create_app
from vibecode_api.children import listening_socket, wait_until_up
from vibecode_api.clock import SYSTEM_CLOCK, Clock

from ..conftest import PYTHON

REPO = Path(__file__).resolve().parents[2]


class _PeerTransport(TestClientTransport):  # type: ignore[type-arg]
    """Litestar's test transport, with the TCP peer address a real server would report."""

    peer = "127.0.0.1"

    def parse_request(self, request: Any) -> dict[str, Any]:
        scope = super().parse_request(request)
        scope["client"] = (self.peer, 50000)
        return scope


def open_client(app: Litestar, peer: str = "127.0.0.1") -> TestClient[Litestar]:
    """A test client whose requests arrive from `peer` (loopback: a trusted proxy by default)."""
    client: TestClient[Litestar] = TestClient(app, raise_server_exceptions=False)
    transport = _PeerTransport(client=client, raise_server_exceptions=False, root_path="")
    transport.peer = peer
    client._transport = transport
    return client


def as_user(user: str, *groups: str, email: str = "") -> dict[str, str]:
    """The headers Authelia's forward-auth sets for a signed-in user."""
    headers = {"Remote-User": user, "Remote-Name": user.title(), "Remote-Email": email}
    if groups:
        headers["Remote-Groups"] = ",".join(groups)
    return headers


@pytest.fixture
def make_client(make_settings: Callable[..., Any]) -> Iterator[Callable[..., TestClient[Litestar]]]:
    """Build the app with settings overrides (and optional extra handlers) and open a client."""
    opened: list[TestClient[Litestar]] = []

    def build(
        extra_handlers: tuple[Any, ...] = (),
        peer: str = "127.0.0.1",
        clock: Clock = SYSTEM_CLOCK,
        **overrides: Any,
    ) -> TestClient[Litestar]:
        app = create_app(make_settings(**overrides), extra_handlers, clock)
        client = open_client(app, peer)
        client.__enter__()
        opened.append(client)
        return client

    yield build
    for client in reversed(opened):
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient[Litestar]]) -> TestClient[Litestar]:
    return make_client()


UPSTREAM_CYCLES = {"AiohttpResponseStream", "BoundAsyncStream"}
"""What an upstream call leaves for the cycle collector when it goes through httpx.AsyncClient
(the test client's own responses are sync: they do not count)."""


def cyclic_garbage(action: Callable[[], Any]) -> set[str]:
    """The type names of the objects `action` leaves in reference cycles, that only the
    garbage collector would free."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        action()
        gc.collect()
        return {type(o).__name__ for o in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()


class ApiProcess:
    """`python -m vibecode_api` as a real process, on a loopback socket handed to it."""

    def __init__(
        self, env: dict[str, str], cwd: Path, log: Path, target: str | None = None
    ) -> None:
        sock = listening_socket()
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        fd = sock.fileno()
        full_env = {**os.environ, "VIBE_PORT": str(self.port), "VIBE_LISTEN_FD": str(fd), **env}
        self._out = log.open("ab")
        argv = [PYTHON, "-m", "vibecode_api"]
        if target:  # another app factory, served exactly as the entry point serves its own
            argv = [PYTHON, "-c", f"from vibecode_api.__main__ import serve; serve({target!r})"]
            full_env["PYTHONPATH"] = str(REPO)
        with sock:  # the child has its own copy
            self.proc = subprocess.Popen(
                argv,
                env=full_env,
                cwd=cwd,
                stdout=self._out,
                stderr=subprocess.STDOUT,
                pass_fds=(fd,),
            )

    def wait_ready(self, timeout: float = 30.0) -> None:
        try:
            wait_until_up(f"{self.url}/api/health/ready", self.proc, timeout)
        except Exception as err:
            raise AssertionError(f"API not ready ({err}):\n{self.output()}") from None

    def children(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30.0) -> int:
        """Signal the server; SIGKILL takes its workers down with it, as a crash would."""
        if self.proc.poll() is None:
            victims = self.children() if sig == signal.SIGKILL else []
            self.proc.send_signal(sig)
            for child in victims:
                child.kill()
        code = self.proc.wait(timeout)
        self._out.close()
        return code

    def output(self) -> str:
        if not self._out.closed:
            self._out.flush()
        return self.log.read_text(errors="replace")


@pytest.fixture
def api_process(tmp_path: Path) -> Iterator[Callable[..., ApiProcess]]:
    started: list[ApiProcess] = []

    def start(
        env: dict[str, str] | None = None, cwd: Path | None = None, target: str | None = None
    ) -> ApiProcess:
        log = tmp_path / f"api-{len(started)}.log"
        proc = ApiProcess(env or {}, cwd or tmp_path, log, target)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.proc.poll() is None:
            proc.stop()  # a clean exit: the API stops the embedded PostgreSQL it started
    stop_postgres_under(tmp_path)


def stop_postgres_under(folder: Path) -> None:
    """Stop PostgreSQL servers whose data lives under `folder`: one outlives a SIGKILLed API by
    design (the next start adopts it), and a test that ends with such a crash starts no next."""
    servers = []
    for p in psutil.process_iter(["cmdline"]):
        argv = p.info["cmdline"] or [""]
        if Path(argv[0]).name == "postgres" and any(str(folder) in arg for arg in argv):
            servers.append(p)
    for server in servers:
        with contextlib.suppress(psutil.NoSuchProcess):  # it may have just stopped by itself
            server.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
    psutil.wait_procs(servers, timeout=30)

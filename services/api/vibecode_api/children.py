"""The processes `python -m vibecode_api` runs beside itself on loopback (the embedder, the
sample filler, local code-servers): a socket or a free port for one, and waiting until one
answers. Test and benchmark harnesses use the same helpers for the servers they start.

A child that can take a socket gets one already bound and listening (`listening_socket`, passed
with `pass_fds`): picking a port by binding to 0 and closing the probe leaves a window in which
another process can be handed the same port, and two of ours once were (a runner's API port
became the API's embedder port, and the API could not bind). code-server cannot take a socket:
it gets a `free_port`, whose window is as short as a process start.
"""

from __future__ import annotations

import os
import socket
import subprocess

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed


def listening_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket on a free port, already listening and inheritable: hand its `fileno()` to a
    child with `pass_fds`, then close this copy; the port is never free in between."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host, 0))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def free_port() -> int:
    """A port nothing listens on right now (for children that cannot take a socket, and for
    tests that need an address where nothing answers)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def socket_port(fd: int) -> int:
    """The port of an inherited listening socket."""
    with socket.socket(fileno=os.dup(fd)) as s:
        return int(s.getsockname()[1])


def wait_until_up(
    url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 120.0
) -> None:
    """Poll `url` until it answers 2xx: it is another process, so polling is the way. A 503 is
    a server still starting (a readiness probe's "not yet") and is polled on. Raises the last
    error after `timeout`, any other HTTP error at once, and RuntimeError as soon as `proc`
    (the process expected to answer) has exited."""
    for attempt in Retrying(
        retry=retry_if_exception_type((httpx.TransportError, _NotYet)),
        stop=stop_after_delay(timeout),
        wait=wait_fixed(0.1),
        reraise=True,
    ):
        with attempt:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
            answer = httpx.get(url, timeout=5)
            if answer.status_code == 503:
                raise _NotYet(f"{url} answered 503")
            answer.raise_for_status()


class _NotYet(Exception):
    pass

"""The processes `python -m vibecode_api` runs beside itself on loopback (the embedder, the
sample filler, local code-servers): a free port for one, and waiting until one answers."""

from __future__ import annotations

import socket
import subprocess

import httpx
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_fixed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(
    url: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 120.0
) -> None:
    """Poll `url` until it answers 2xx: it is another process, so polling is the way. Raises
    the last transport error after `timeout`, an HTTP error at once, and RuntimeError as soon
    as `proc` (the process expected to answer) has exited."""
    for attempt in Retrying(
        retry=retry_if_exception_type(httpx.TransportError),
        stop=stop_after_delay(timeout),
        wait=wait_fixed(0.1),
        reraise=True,
    ):
        with attempt:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
            httpx.get(url, timeout=5).raise_for_status()

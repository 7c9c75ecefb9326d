"""The deploy state machine's operations on a real stack: Pulumi config and `up` through the
Automation API, and the API's Services reached by `kubectl port-forward` (or given URLs)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx

from . import stacks
from .deploy import smoke_test
from .errors import CliError, require_tool

SERVICES = {"active": "vibecode-api", "preview": "vibecode-api-preview"}
NAMESPACE = "vibecode"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PortForward:
    """`kubectl port-forward svc/NAME` on a free loopback port while the context is open."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> PortForward:
        kubectl = require_tool("kubectl")
        self.proc = subprocess.Popen(
            [kubectl, "-n", NAMESPACE, "port-forward", f"svc/{self.service}", f"{self.port}:80"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def wait_ready(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            r = httpx.get(f"{url}/api/health/ready", timeout=2)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as err:
            last = type(err).__name__
        time.sleep(1)  # polling a remote rollout
    raise CliError(f"{url} not ready after {timeout:.0f} s ({last})")


class StackOperations:
    def __init__(
        self,
        stack: str,
        root: Path,
        on_output: stacks.Output,
        urls: dict[str, str | None],
        ready_timeout: float = 300,
    ) -> None:
        self.stack, self.root, self.on_output = stack, root, on_output
        self.urls, self.ready_timeout = urls, ready_timeout

    def image(self, color: str) -> str:
        return stacks.get_config(self.stack, self.root, f"api.images.{color}")

    def active(self) -> str:
        return stacks.get_config(self.stack, self.root, "api.activeColor")

    def set_image(self, color: str, image: str) -> None:
        stacks.set_config(self.stack, self.root, f"api.images.{color}", image)

    def set_active(self, color: str) -> None:
        stacks.set_config(self.stack, self.root, "api.activeColor", color)

    def apply(self) -> None:
        result: dict[str, Any] = stacks.operate("up", self.stack, self.root, self.on_output)
        if result.get("result") not in ("succeeded", None):
            raise CliError(f"pulumi up {result.get('result')}")

    def _with_url(self, service: str, fn: Any) -> Any:
        given = self.urls.get(service)
        if given:
            return fn(given)
        with PortForward(SERVICES[service]) as forward:
            return fn(forward.url)

    def wait_ready(self, service: str) -> None:
        self._with_url(service, lambda url: wait_ready(url, self.ready_timeout))

    def smoke(self, service: str) -> list[str]:
        result: list[str] = self._with_url(service, smoke_test)
        return result

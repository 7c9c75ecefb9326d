"""Blue-green deploys with automatic rollback: a small state machine over four operations.

    give the idle colour the image → up → wait until the preview is ready → smoke-test it
      → switch the active colour → up → check the live Service again → done (old colour kept)
    smoke test fails   → give the idle colour its old image back → up → ROLLED_BACK
    post-switch fails  → switch the active colour back → up → ROLLED_BACK

The decisions live here and nowhere else; `Operations` is the seam: the CLI's implementation
drives Pulumi and kubectl, the tests' records calls. `smoke_test` is real HTTP against an API.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

SMOKE_USER = {"Remote-User": "vibe-smoke-test", "Remote-Groups": "vibecode-premium"}


class Operations(Protocol):
    def image(self, color: str) -> str: ...
    def active(self) -> str: ...
    def set_image(self, color: str, image: str) -> None: ...
    def set_active(self, color: str) -> None: ...
    def apply(self) -> None: ...
    def wait_ready(self, service: str) -> None: ...
    def smoke(self, service: str) -> list[str]: ...


@dataclass
class Outcome:
    ok: bool
    state: str
    active: str
    previous: str
    image: str
    steps: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "state": self.state,
            "active": self.active,
            "previous": self.previous,
            "image": self.image,
            "steps": self.steps,
            "failures": self.failures,
        }


def other(color: str) -> str:
    return "green" if color == "blue" else "blue"


def deploy(ops: Operations, image: str, log: Callable[[str], None] = lambda _: None) -> Outcome:
    live = ops.active()
    idle = other(live)
    old_image = ops.image(idle)
    out = Outcome(False, "started", live, idle, image)

    def step(name: str) -> None:
        out.steps.append(name)
        log(name)

    step(f"set {idle} image to {image}")
    ops.set_image(idle, image)
    ops.apply()
    step("wait for the preview Service")
    try:
        ops.wait_ready("preview")
        out.failures = ops.smoke("preview")
    except Exception as err:  # a preview that never gets ready fails like a smoke test
        out.failures = [f"preview not ready: {err}"]
    if out.failures:
        step(f"smoke test failed; restore {idle} image {old_image}")
        ops.set_image(idle, old_image)
        ops.apply()
        out.state = "rolled_back_before_switch"
        return out

    step(f"switch live traffic to {idle}")
    ops.set_active(idle)
    ops.apply()
    out.active, out.previous = idle, live
    try:
        ops.wait_ready("active")
        out.failures = ops.smoke("active")
    except Exception as err:
        out.failures = [f"live Service not ready: {err}"]
    if out.failures:
        step(f"post-switch check failed; switch back to {live}")
        ops.set_active(live)
        ops.apply()
        out.active, out.previous = live, idle
        out.state = "rolled_back_after_switch"
        return out
    step(f"done: {idle} is live, {live} kept for `vibe rollback`")
    out.ok, out.state = True, "deployed"
    return out


def rollback(ops: Operations, log: Callable[[str], None] = lambda _: None) -> Outcome:
    """Make the previous colour live again (its image is still deployed)."""
    live = ops.active()
    back = other(live)
    out = Outcome(False, "started", live, back, ops.image(back))
    out.steps.append(f"switch live traffic back to {back}")
    log(out.steps[-1])
    ops.set_active(back)
    ops.apply()
    out.active, out.previous = back, live
    ops.wait_ready("active")
    out.failures = ops.smoke("active")
    out.ok = not out.failures
    out.state = "rolled_back" if out.ok else "rollback_unhealthy"
    return out


def smoke_test(base_url: str, timeout: float = 30.0) -> list[str]:
    """What must work on a new colour before it takes traffic: health, a chat answer and a
    search over a file uploaded for the purpose (cleaned up after). Failures, in words."""
    failures: list[str] = []
    with httpx.Client(base_url=base_url, headers=SMOKE_USER, timeout=timeout) as client:
        try:
            health = client.get("/api/health")
            if health.status_code != 200 or health.json().get("status") not in (
                "healthy",
                "degraded",
            ):
                failures.append(f"health: HTTP {health.status_code} {health.text[:200]}")
            chat = client.post(
                "/api/chat", json={"messages": [{"role": "user", "content": "smoke test"}]}
            )
            if chat.status_code != 200 or not chat.json().get("message"):
                failures.append(f"chat: HTTP {chat.status_code} {chat.text[:200]}")
            name = f"smoke-{int(time.time())}"
            created = client.post("/api/workspaces", json={"name": name})
            if created.status_code != 201:
                failures.append(f"workspace: HTTP {created.status_code} {created.text[:200]}")
                return failures
            ws = created.json()["id"]
            try:
                text = b"blue green deploys keep the previous colour for rollback"
                up = client.post(f"/api/workspaces/{ws}/files", files={"file": ("smoke.md", text)})
                if up.status_code not in (200, 201):
                    failures.append(f"upload: HTTP {up.status_code} {up.text[:200]}")
                found = client.post(
                    f"/api/workspaces/{ws}/search", json={"query": "rollback colour"}
                )
                results = found.json().get("results") if found.status_code == 200 else None
                if not results:
                    failures.append(f"search: HTTP {found.status_code} {found.text[:200]}")
            finally:
                client.delete(f"/api/workspaces/{ws}")
        except (httpx.HTTPError, ValueError) as err:
            failures.append(f"{type(err).__name__}: {err}")
    return failures

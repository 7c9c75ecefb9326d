"""The `vibe` CLI driven in-process: help, one-line errors and exit codes, missing tools,
`--json` shapes, render end to end on both stacks, and every blue-green path of the deploy state
machine; the smoke test runs for real against a local API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from vibecode_platform.cli import main
from vibecode_platform.cli.deploy import deploy, rollback, smoke_test
from vibecode_platform.cli.errors import MISSING_TOOL, ROLLED_BACK
from vibecode_platform.cli.stacks import workspace_stack_name

from ..api.conftest import api_process  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[2]


def run(
    capsys: pytest.CaptureFixture[str], *args: str, operations: Any = None
) -> tuple[int, str, str]:
    """`vibe ARGS` in-process: (exit code, stdout, stderr)."""
    code = 0
    try:
        main(list(args), operations=operations)
    except SystemExit as done:
        code = int(done.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["kind"],
        ["kind", "up"],
        ["up"],
        ["preview"],
        ["destroy"],
        ["deploy"],
        ["rollback"],
        ["workspaces", "create"],
        ["render"],
        ["serve"],
        ["loadtest"],
    ],
)
def test_every_command_has_help(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    code, out, _ = run(capsys, *args, "--help")
    assert code == 0
    assert out.startswith("Usage: vibe")


def test_bad_arguments_exit_2_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "up", "--stack", "staging")
    assert code == 2
    assert "'staging' is not one of 'dev', 'prod'" in err


@pytest.mark.parametrize(
    ("args", "tool"),
    [
        (["up", "--stack", "dev"], "pulumi"),
        (["preview", "--stack", "prod"], "pulumi"),
        (["workspaces", "list"], "pulumi"),
        (["workspaces", "create", "alice", "demo"], "pulumi"),
        (["kind", "up"], "kind"),
        (["kind", "down"], "kind"),
    ],
)
def test_a_missing_tool_is_named_with_how_to_install_it(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    args: list[str],
    tool: str,
) -> None:
    docker = tmp_path / "docker"  # docker present, the tool under test absent
    docker.write_text("#!/bin/sh\nexit 0\n")
    docker.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    code, out, err = run(capsys, *args)
    assert code == MISSING_TOOL
    assert err.startswith(f"vibe: {tool} is not installed: install ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert out == ""


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_render_writes_every_manifest_and_a_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, stack: str
) -> None:
    code, out, _ = run(
        capsys, "--json", "render", "--stack", stack, "--out", str(tmp_path), "--no-policy"
    )
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True
    assert report["stack"] == stack
    assert report["manifests"] == len(list((tmp_path / "manifests").glob("*.yaml"))) > 50
    assert json.loads((tmp_path / "report.json").read_text())["manifests"] == report["manifests"]
    assert report["datadog"]["monitors"] == 14


def test_render_with_a_users_file_and_failing_invariants_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    users = tmp_path / "users.yaml"
    users.write_text(yaml.safe_dump([{"user": "carol", "workspace": "lab", "tier": "premium"}]))
    code, out, _ = run(
        capsys,
        "render",
        "--stack",
        "dev",
        "--out",
        str(tmp_path / "a"),
        "--users",
        str(users),
        "--no-policy",
    )
    assert code == 0
    assert "3 workspaces" in out  # two from the stack + carol's
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump([{"user": "dave", "workspace": "x", "tier": "gold"}]))
    code, _, err = run(
        capsys,
        "render",
        "--stack",
        "dev",
        "--out",
        str(tmp_path / "b"),
        "--users",
        str(bad),
        "--no-policy",
    )
    assert code == 1
    assert err.startswith("vibe: ")
    assert "Traceback" not in err


# -- the deploy state machine ------------------------------------------------------------------------
class Recorder:
    """Operations that record what the state machine asked for, with scripted health."""

    def __init__(self, smoke: dict[str, list[list[str]]] | None = None, ready: bool = True) -> None:
        self.config = {"active": "blue", "blue": "api:1", "green": "api:1"}
        self.applied: list[dict[str, str]] = []
        self.smoke_results = smoke or {}
        self.ready = ready
        self.calls: list[str] = []

    def image(self, color: str) -> str:
        return self.config[color]

    def active(self) -> str:
        return self.config["active"]

    def set_image(self, color: str, image: str) -> None:
        self.config[color] = image

    def set_active(self, color: str) -> None:
        self.config["active"] = color

    def apply(self) -> None:
        self.applied.append(dict(self.config))

    def wait_ready(self, service: str) -> None:
        self.calls.append(f"ready {service}")
        if not self.ready:
            raise TimeoutError("no ready pod in 300 s")

    def smoke(self, service: str) -> list[str]:
        self.calls.append(f"smoke {service}")
        queue = self.smoke_results.get(service, [])
        return queue.pop(0) if queue else []


def test_a_good_image_goes_live_on_the_idle_colour_and_keeps_the_old_one() -> None:
    ops = Recorder()
    out = deploy(ops, "api:2")
    assert (out.ok, out.state, out.active, out.previous) == (True, "deployed", "green", "blue")
    assert ops.applied == [
        {"active": "blue", "blue": "api:1", "green": "api:2"},
        {"active": "green", "blue": "api:1", "green": "api:2"},
    ]
    assert ops.calls == ["ready preview", "smoke preview", "ready active", "smoke active"]
    back = rollback(ops)
    assert (back.ok, back.state, back.active) == (True, "rolled_back", "blue")
    assert ops.applied[-1] == {"active": "blue", "blue": "api:1", "green": "api:2"}


def test_a_failed_smoke_test_restores_the_idle_image_and_never_switches() -> None:
    ops = Recorder(smoke={"preview": [["chat: HTTP 500"]]})
    out = deploy(ops, "api:2")
    assert (out.ok, out.state, out.active) == (False, "rolled_back_before_switch", "blue")
    assert out.failures == ["chat: HTTP 500"]
    assert ops.applied[-1] == {"active": "blue", "blue": "api:1", "green": "api:1"}
    assert all(state["active"] == "blue" for state in ops.applied)


def test_a_preview_that_never_gets_ready_counts_as_a_failed_smoke_test() -> None:
    ops = Recorder(ready=False)
    out = deploy(ops, "api:2")
    assert out.state == "rolled_back_before_switch"
    assert out.failures == ["preview not ready: no ready pod in 300 s"]
    assert ops.config == {"active": "blue", "blue": "api:1", "green": "api:1"}


def test_a_failed_post_switch_check_switches_back() -> None:
    ops = Recorder(smoke={"active": [["health: HTTP 503"]]})
    out = deploy(ops, "api:2")
    assert (out.ok, out.state, out.active, out.previous) == (
        False,
        "rolled_back_after_switch",
        "blue",
        "green",
    )
    assert [s["active"] for s in ops.applied] == ["blue", "green", "blue"]


def test_deploy_json_shape_and_exit_code_on_rollback(capsys: pytest.CaptureFixture[str]) -> None:
    ops = Recorder(smoke={"preview": [["search: HTTP 500"]]})
    code, out, _ = run(
        capsys, "--json", "deploy", "api:9", "--stack", "dev", operations=lambda *a: ops
    )
    assert code == ROLLED_BACK
    doc = json.loads(out)
    assert set(doc) == {"ok", "state", "active", "previous", "image", "steps", "failures"}
    assert (doc["ok"], doc["state"], doc["failures"]) == (
        False,
        "rolled_back_before_switch",
        ["search: HTTP 500"],
    )


# -- the smoke test, for real ---------------------------------------------------------------------
def test_the_smoke_test_passes_on_a_healthy_api_and_names_what_fails(
    api_process: Any,  # noqa: F811 - the imported fixture
    database_url: str,
) -> None:
    healthy = api_process({"VIBE_DATABASE_URL": database_url, "VIBE_DOGSTATSD": "false"})
    healthy.wait_ready()
    assert smoke_test(healthy.url) == []
    # Nothing left behind by the smoke user.
    import httpx

    listed = httpx.get(f"{healthy.url}/api/workspaces", headers={"Remote-User": "vibe-smoke-test"})
    assert listed.json() == []
    healthy.stop()

    read_only = api_process(
        {"VIBE_DATABASE_URL": database_url, "VIBE_DRY_RUN": "true", "VIBE_DOGSTATSD": "false"}
    )
    read_only.wait_ready()
    failures = smoke_test(read_only.url)
    assert len(failures) == 1
    assert failures[0].startswith("workspace: HTTP 403")


def test_workspace_stacks_are_named_by_the_one_naming_function() -> None:
    assert workspace_stack_name("alice", "demo") == "user-alice-ws-demo"
    assert workspace_stack_name("Alice Smith", "demo").startswith("user-alice")

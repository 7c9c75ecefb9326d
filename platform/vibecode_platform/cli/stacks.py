"""Pulumi's Automation API: the platform stacks (the repo's project: `Pulumi.yaml` at the root,
program in `infra/`) and one inline-program stack per workspace.

Every entry point checks for the Pulumi CLI first (the Automation API drives it) and turns
Pulumi's errors into one line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vibecode_core.tenancy import workspace_namespace

from .errors import CliError, require_tool

Output = Callable[[str], None]
WORKSPACE_PROJECT = "vibecode-workspaces"


def workspace_stack_name(user: str, workspace: str) -> str:
    """The stack of one workspace: its namespace name, from the one naming function."""
    return workspace_namespace(user, workspace)


@contextmanager
def _pulumi_errors() -> Iterator[None]:
    from pulumi.automation import errors

    try:
        yield
    except errors.CommandError as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        detail = next((line for line in reversed(lines) if "error" in line.lower()), lines[-1])
        raise CliError(f"pulumi failed: {detail[:400]}") from None


def platform_stack(stack: str, root: Path) -> Any:
    require_tool("pulumi")
    from pulumi import automation as auto

    with _pulumi_errors():
        return auto.create_or_select_stack(stack_name=stack, work_dir=str(root))


def operate(op: str, stack: str, root: Path, on_output: Output) -> dict[str, Any]:
    """`up`, `preview` or `destroy` on a platform stack, streaming Pulumi's output."""
    s = platform_stack(stack, root)
    with _pulumi_errors():
        if op == "up":
            result = s.up(on_output=on_output, color="never")
            return {
                "stack": stack,
                "operation": op,
                "result": result.summary.result,
                "changes": dict(result.summary.resource_changes or {}),
                "outputs": {k: v.value for k, v in result.outputs.items() if not v.secret},
            }
        if op == "preview":
            preview = s.preview(on_output=on_output, color="never")
            return {"stack": stack, "operation": op, "changes": dict(preview.change_summary)}
        if op == "destroy":
            result = s.destroy(on_output=on_output, color="never")
            return {"stack": stack, "operation": op, "result": result.summary.result}
    raise CliError(f"unknown operation {op}")


def set_config(stack: str, root: Path, key: str, value: str) -> None:
    """One `vibecode:` value by path (`api.activeColor`), as `pulumi config set --path` would."""
    from pulumi import automation as auto

    s = platform_stack(stack, root)
    with _pulumi_errors():
        s.set_config(f"vibecode:{key}", auto.ConfigValue(value=value), path=True)


def get_config(stack: str, root: Path, key: str) -> str:
    s = platform_stack(stack, root)
    with _pulumi_errors():
        return str(s.get_config(f"vibecode:{key}", path=True).value)


def _workspace_stack(
    user: str, workspace: str, tier: str, base: str, root: Path, create: bool
) -> Any:
    require_tool("pulumi")
    from pulumi import automation as auto
    from vibecode_infra import config
    from vibecode_infra.program import build_workspace

    cfg = config.parse(config.stack_file(base, root))
    name = workspace_stack_name(user, workspace)

    def program() -> None:
        build_workspace(cfg, user, workspace, tier)

    with _pulumi_errors():
        if create:
            return auto.create_or_select_stack(
                stack_name=name, project_name=WORKSPACE_PROJECT, program=program
            )
        return auto.select_stack(stack_name=name, project_name=WORKSPACE_PROJECT, program=program)


def workspace_create(
    user: str, workspace: str, tier: str, base: str, root: Path, on_output: Output
) -> dict[str, Any]:
    """Create or update (idempotent) the workspace's own stack and bring it up."""
    s = _workspace_stack(user, workspace, tier, base, root, create=True)
    with _pulumi_errors():
        if base == "dev":  # the KIND cluster; production uses the current kubectl context
            s.set_config("kubernetes:context", auto_value("kind-vibecode"))
        result = s.up(on_output=on_output, color="never")
    return {
        "stack": s.name,
        "user": user,
        "workspace": workspace,
        "tier": tier,
        "result": result.summary.result,
        "outputs": {k: v.value for k, v in result.outputs.items()},
    }


def workspace_delete(
    user: str, workspace: str, base: str, root: Path, on_output: Output
) -> dict[str, Any]:
    s = _workspace_stack(user, workspace, "free", base, root, create=False)
    with _pulumi_errors():
        s.destroy(on_output=on_output, color="never")
        s.workspace.remove_stack(s.name)
    return {"stack": s.name, "deleted": True}


def workspace_list() -> list[dict[str, Any]]:
    require_tool("pulumi")
    from pulumi import automation as auto

    with _pulumi_errors():
        ws = auto.LocalWorkspace(
            project_settings=auto.ProjectSettings(name=WORKSPACE_PROJECT, runtime="python")
        )
        return [
            {"stack": s.name, "updated": s.last_update, "resources": s.resource_count}
            for s in ws.list_stacks()
        ]


def auto_value(value: str) -> Any:
    from pulumi import automation as auto

    return auto.ConfigValue(value=value)

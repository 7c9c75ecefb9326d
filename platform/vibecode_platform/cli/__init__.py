"""`vibe`: the platform engineer's one command.

A thin layer over the libraries the rest of the repo builds: Pulumi's Automation API with the
infra package, the offline verification chain, the API's server, Locust. Only click is imported
at start; every command imports what it drives when it runs, so `vibe --help` stays quick.

Exit codes: 0 ok · 1 a check or operation failed · 2 bad arguments · 3 a required tool is missing
· 4 a deploy failed and rolled back. Errors are one line on stderr (`--debug` for the traceback);
`--json` prints one JSON document on stdout (progress goes to stderr).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from vibecode_core import __version__

from .errors import FAILED, ROLLED_BACK, CliError

if TYPE_CHECKING:
    from collections.abc import Sequence

STACKS = click.Choice(["dev", "prod"])
TIERS = click.Choice(["free", "premium"])


def repo_root() -> Path:
    """The checkout: the nearest folder upwards with `Pulumi.yaml` (or this package's repo)."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "Pulumi.yaml").exists() and (folder / "infra").is_dir():
            return folder
    return Path(__file__).resolve().parents[3]


OperationsFactory = Callable[[str, Path, Callable[[str], None], dict[str, str | None]], Any]
"""(stack, repository root, progress, {"preview": url, "active": url}) → the operations the
deploy state machine drives (`ops.StackOperations`; tests pass a recorder to `main`)."""


def stack_operations(
    stack: str, root: Path, progress: Callable[[str], None], urls: dict[str, str | None]
) -> Any:
    from .ops import StackOperations

    return StackOperations(stack, root, progress, urls)


class Context:
    def __init__(
        self, as_json: bool, debug: bool, operations: OperationsFactory = stack_operations
    ) -> None:
        self.json = as_json
        self.debug = debug
        self.root = repo_root()
        self.operations = operations

    def progress(self, line: str) -> None:
        """Pulumi's and our own progress: stderr in JSON mode so stdout stays one document."""
        stream = sys.stderr if self.json else sys.stdout
        stream.write(line if line.endswith("\n") else line + "\n")
        stream.flush()

    def step(self, text: str) -> None:
        if self.json:
            self.progress(f"==> {text}")
            return
        from rich.console import Console

        Console(highlight=False).print(f"[bold cyan]==>[/] {text}")

    def emit(self, data: Any, human: Callable[[Any], str] | None = None) -> None:
        import json

        if self.json:
            click.echo(json.dumps(data, default=str))
        else:
            click.echo(human(data) if human else json.dumps(data, indent=2, default=str))


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--json", "as_json", is_flag=True, help="One JSON document on stdout.")
@click.option("--debug", is_flag=True, help="Tracebacks instead of one-line errors.")
@click.version_option(__version__, prog_name="vibe")
@click.pass_context
def cli(ctx: click.Context, as_json: bool, debug: bool) -> None:
    """VibeCode platform: clusters, stacks, blue-green deploys, workspaces, render, serve."""
    given = ctx.obj if isinstance(ctx.obj, dict) else {}  # what `main` was handed
    ctx.obj = Context(as_json, debug, given.get("operations") or stack_operations)


# -- cluster ----------------------------------------------------------------------------------
@cli.group()
def kind() -> None:
    """The local KIND cluster (kind-config.yaml: 1 control plane + 2 workers, Calico)."""


@kind.command("up")
@click.option("--name", default="vibecode", show_default=True)
@pass_ctx
def kind_up(c: Context, name: str) -> None:
    """Create the cluster (nothing if it exists)."""
    from . import cluster as k

    result = k.up(c.root, name)
    c.emit(result, lambda r: "\n".join([f"cluster {r['cluster']} ready; next:", *r["next"]]))


@kind.command("down")
@click.option("--name", default="vibecode", show_default=True)
@pass_ctx
def kind_down(c: Context, name: str) -> None:
    """Delete the cluster."""
    from . import cluster as k

    c.emit(k.down(name), lambda r: f"cluster {r['cluster']} deleted")


# -- platform stacks -----------------------------------------------------------------------------
def _stack_command(op: str, doc: str) -> None:
    @cli.command(op, help=doc)
    @click.option("--stack", type=STACKS, required=True)
    @pass_ctx
    def command(c: Context, stack: str) -> None:
        from . import stacks

        result = stacks.operate(op, stack, c.root, c.progress)
        c.emit(result, lambda r: f"{op} {stack}: {r.get('result') or r.get('changes')}")


_stack_command("up", "Create or update a platform stack (Pulumi Automation API).")
_stack_command("preview", "Show what `vibe up` would change.")
_stack_command("destroy", "Delete everything a platform stack declared.")


# -- blue-green ----------------------------------------------------------------------------------
def _operations(c: Context, stack: str, preview_url: str | None, active_url: str | None) -> Any:
    return c.operations(stack, c.root, c.progress, {"preview": preview_url, "active": active_url})


def _finish(c: Context, outcome: Any) -> None:
    c.emit(
        outcome.as_dict(),
        lambda r: (
            f"{r['state']}: {r['active']} is live"
            + (f"; failed: {'; '.join(r['failures'])}" if r["failures"] else "")
        ),
    )
    if not outcome.ok:
        raise SystemExit(ROLLED_BACK if outcome.state.startswith("rolled_back") else FAILED)


@cli.command()
@click.argument("image")
@click.option("--stack", type=STACKS, required=True)
@click.option("--preview-url", help="Reach the preview Service here instead of port-forwarding.")
@click.option("--active-url", help="Reach the live Service here instead of port-forwarding.")
@pass_ctx
def deploy(
    c: Context, image: str, stack: str, preview_url: str | None, active_url: str | None
) -> None:
    """Blue-green: IMAGE on the idle colour, smoke test, switch, check; rolls back by itself."""
    from .deploy import deploy as run

    _finish(c, run(_operations(c, stack, preview_url, active_url), image, c.step))


@cli.command()
@click.option("--stack", type=STACKS, required=True)
@click.option("--active-url", help="Reach the live Service here instead of port-forwarding.")
@pass_ctx
def rollback(c: Context, stack: str, active_url: str | None) -> None:
    """Make the previous colour live again."""
    from .deploy import rollback as run

    _finish(c, run(_operations(c, stack, None, active_url), c.step))


# -- workspaces ------------------------------------------------------------------------------------
@cli.group()
def workspaces() -> None:
    """One Pulumi stack per workspace (inline program: the infra Workspace component)."""


@workspaces.command("create")
@click.argument("user")
@click.argument("workspace")
@click.option("--tier", type=TIERS, default="free", show_default=True)
@click.option("--stack", "base", type=STACKS, default="dev", show_default=True)
@pass_ctx
def ws_create(c: Context, user: str, workspace: str, tier: str, base: str) -> None:
    """Create or update USER's WORKSPACE (idempotent)."""
    from . import stacks

    result = stacks.workspace_create(user, workspace, tier, base, c.root, c.progress)
    c.emit(result, lambda r: f"workspace {r['stack']}: {r['result']}")


@workspaces.command("delete")
@click.argument("user")
@click.argument("workspace")
@click.option("--stack", "base", type=STACKS, default="dev", show_default=True)
@pass_ctx
def ws_delete(c: Context, user: str, workspace: str, base: str) -> None:
    """Destroy USER's WORKSPACE and remove its stack."""
    from . import stacks

    c.emit(stacks.workspace_delete(user, workspace, base, c.root, c.progress))


@workspaces.command("list")
@pass_ctx
def ws_list(c: Context) -> None:
    """Workspace stacks."""
    from . import stacks

    c.emit(stacks.workspace_list(), lambda rows: "\n".join(r["stack"] for r in rows) or "none")


# -- offline render ------------------------------------------------------------------------------
@cli.command()
@click.option("--stack", type=STACKS, required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True)
@click.option(
    "--users",
    "users_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A YAML list of {user, workspace, tier} instead of the stack's users file.",
)
@click.option("--no-policy", is_flag=True, help="Skip checkov.")
@pass_ctx
def render(c: Context, stack: str, out: Path, users_file: Path | None, no_policy: bool) -> None:
    """Render every manifest offline (Pulumi mocks) and check schemas, policy and invariants."""
    from vibecode_infra.verify import render as run

    overrides = {"usersFile": str(users_file.resolve())} if users_file else {}
    c.step(f"rendering {stack} into {out}")
    report = run(stack, out=out, root=c.root, policy=not no_policy, overrides=overrides)
    problems = report["schema_errors"] + report["policy_failures"] + report["invariant_failures"]

    def human(r: dict[str, Any]) -> str:
        head = (
            f"{stack}: {r['manifests']} manifests, {r['workspaces']} workspaces, "
            f"{sum(r['datadog'].values())} Datadog objects -> {out}"
        )
        return "\n".join([head, *problems, "ok" if r["ok"] else f"{len(problems)} problems"])

    c.emit(report, human)
    if not report["ok"]:
        raise SystemExit(FAILED)


# -- the API and load tests ------------------------------------------------------------------------
@cli.command()
def serve() -> None:
    """Run the API (VIBE_* settings; embedded PostgreSQL when VIBE_DATABASE_URL is unset)."""
    from vibecode_api.__main__ import serve as run

    run()


@cli.command()
@click.argument("url")
@click.option("--users", default=100, show_default=True, help="Concurrent Locust users.")
@click.option("--duration", default="2m", show_default=True, help="Run time, e.g. 30s, 2m.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("build/loadtest"))
@pass_ctx
def loadtest(c: Context, url: str, users: int, duration: str, out: Path) -> None:
    """Run the Locust suite against URL; exits non-zero when a threshold is missed."""
    from .loadtest import run

    code = run(c.root, url, users=users, duration=duration, out=out, on_output=c.progress)
    c.emit({"url": url, "exitCode": code, "reports": str(out)})
    if code:
        raise SystemExit(FAILED)


def main(argv: Sequence[str] | None = None, *, operations: OperationsFactory | None = None) -> None:
    """`vibe ARGV`. `operations` replaces what blue-green commands drive (tests: a recorder)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("VIBE_DEBUG") == "1"
    try:
        cli.main(args=args, prog_name="vibe", standalone_mode=False, obj={"operations": operations})
    except click.exceptions.Exit as done:
        raise SystemExit(done.exit_code) from None
    except click.ClickException as err:
        err.show()
        raise SystemExit(err.exit_code) from None
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        raise SystemExit(FAILED) from None
    except CliError as err:
        if debug:
            raise
        click.echo(f"vibe: {err}", err=True)
        raise SystemExit(err.code) from None
    except SystemExit:
        raise
    except Exception as err:
        if debug:
            raise
        click.echo(f"vibe: {type(err).__name__}: {err} (--debug for the traceback)", err=True)
        raise SystemExit(FAILED) from None

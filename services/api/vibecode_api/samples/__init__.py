"""The sample library (the seeds' `samples:populate`): a demo workspace with a small handbook, so
that a fresh console has something to search, chat about and open.

It goes through the HTTP API like any client (quotas, validation and audit apply) and is
idempotent: re-running it re-uploads every file, which changes nothing that did not change.
`make samples` runs it against a running API; `python -m vibecode_api` runs it once on the
first start of a `VIBE_DEV_USER` machine (`VIBE_SAMPLES=false` turns that off).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from .. import children

LIBRARY = Path(__file__).parent / "library"
WORKSPACE = "demo"
MARKER = "samples-populated"
"""Written in VIBE_DATA_DIR once the first start has populated the library."""


@dataclass(frozen=True)
class Result:
    workspace_id: str
    files: int
    chunks: int


def library_files() -> list[Path]:
    return sorted(p for p in LIBRARY.rglob("*") if p.is_file())


def populate(base_url: str, user: str | None = None, workspace: str = WORKSPACE) -> Result:
    """Create (or reuse) `workspace` and upload the library into it; raise on any refusal."""
    headers = {"Remote-User": user} if user else {}
    with httpx.Client(base_url=base_url, headers=headers, timeout=120) as client:
        listing = client.get("/api/workspaces")
        listing.raise_for_status()
        found = [w for w in listing.json() if w["name"] == workspace]
        if found:
            ws_id = found[0]["id"]
        else:
            created = client.post("/api/workspaces", json={"name": workspace})
            created.raise_for_status()
            ws_id = created.json()["id"]
        chunks = 0
        paths = library_files()
        for path in paths:
            relative = path.relative_to(LIBRARY).as_posix()
            r = client.post(
                f"/api/workspaces/{ws_id}/files",
                files={"file": (path.name, path.read_bytes())},
                data={"path": relative},
            )
            r.raise_for_status()
            chunks += int(r.json()["chunks"])
    return Result(ws_id, len(paths), chunks)


def populate_on_first_start(base_url: str, data_dir: Path) -> subprocess.Popen[bytes] | None:
    """Populate once the API answers, in a child process (the server forks its workers right
    after; a thread of ours would be copied into them mid-request), and leave a marker so that
    later starts do not: a user who deleted the demo workspace meant it."""
    if (data_dir / MARKER).exists():
        return None
    argv = [sys.executable, "-m", "vibecode_api.samples", "--url", base_url]
    return subprocess.Popen([*argv, "--first-start", str(data_dir)], stdin=subprocess.DEVNULL)


def _first_start(base_url: str, data_dir: Path) -> int:
    try:
        children.wait_until_up(f"{base_url}/api/health/ready")
        result = populate(base_url)
    except (httpx.HTTPError, OSError) as err:
        print(f"samples: not populated ({err}); run `make samples` to retry", file=sys.stderr)
        return 1
    (data_dir / MARKER).write_text(result.workspace_id + "\n")
    print(
        f"samples: workspace {WORKSPACE!r} has {result.files} sample files "
        f"→ {base_url}/console/workspaces/{result.workspace_id}",
        file=sys.stderr,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vibecode_api.samples", description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000", help="the API's base URL")
    parser.add_argument(
        "--user",
        help="act as this user (sent as Remote-User: only honoured from a trusted peer); "
        "default: the API's VIBE_DEV_USER",
    )
    parser.add_argument("--workspace", default=WORKSPACE, help="workspace name (default: demo)")
    parser.add_argument("--first-start", type=Path, metavar="DATA_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.first_start is not None:
        return _first_start(args.url.rstrip("/"), args.first_start)
    try:
        result = populate(args.url.rstrip("/"), args.user, args.workspace)
    except httpx.HTTPStatusError as err:
        print(f"refused: {err.response.status_code} {err.response.text}", file=sys.stderr)
        return 1
    except httpx.TransportError as err:
        print(f"cannot reach {args.url}: {err}", file=sys.stderr)
        return 1
    print(
        f"{result.files} files ({result.chunks} chunks) in workspace {args.workspace!r}: "
        f"{args.url.rstrip('/')}/console/workspaces/{result.workspace_id}"
    )
    return 0

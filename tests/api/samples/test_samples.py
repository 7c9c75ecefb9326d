"""The sample library (`make samples`, and `make dev`'s first start) against a real API process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from vibecode_api import samples
from vibecode_api.children import free_port


def test_the_first_start_fills_a_demo_workspace_once_and_make_samples_is_idempotent(
    api_process: Any, tmp_path: Path
) -> None:
    api = api_process(
        {"VIBE_DEV_USER": "dev", "VIBE_SAMPLES": "false", "VIBE_DATA_DIR": str(tmp_path / "d")}
    )
    api.wait_ready(60)
    filling = samples.populate_on_first_start(api.url, tmp_path)
    assert filling is not None
    assert filling.wait(180) == 0
    assert (tmp_path / samples.MARKER).exists()

    demo = [w for w in httpx.get(f"{api.url}/api/workspaces").json() if w["name"] == "demo"]
    assert len(demo) == 1
    files = httpx.get(f"{api.url}/api/workspaces/{demo[0]['id']}/files").json()
    expected = {p.relative_to(samples.LIBRARY).as_posix() for p in samples.library_files()}
    assert {f["path"] for f in files} == expected
    assert {f["status"] for f in files} == {"indexed"}

    assert samples.populate_on_first_start(api.url, tmp_path) is None  # the marker says done
    again = samples.populate(api.url)
    assert again.workspace_id == demo[0]["id"]
    assert again.files == len(expected)
    assert len(httpx.get(f"{api.url}/api/workspaces/{demo[0]['id']}/files").json()) == len(files)

    hits = httpx.post(
        f"{api.url}/api/workspaces/{demo[0]['id']}/search",
        json={"query": "may we deploy on fridays?"},
        timeout=30,
    ).json()["results"]
    assert hits[0]["path"] == "guides/deploying.md"


def test_the_command_says_when_the_api_is_not_there(capsys: Any) -> None:
    code = samples.main(["--url", f"http://127.0.0.1:{free_port()}"])
    assert code == 1
    assert "cannot reach" in capsys.readouterr().err


def test_a_dev_start_with_samples_on_serves_at_once(api_process: Any, tmp_path: Path) -> None:
    """The first-start filler must not get in the way of the server it fills (a thread of the
    main process, copied into the forked worker, once hung it before it served anything)."""
    api = api_process({"VIBE_DEV_USER": "dev", "VIBE_DATA_DIR": str(tmp_path / "d")})
    api.wait_ready(60)
    assert httpx.get(f"{api.url}/", timeout=10).status_code == 200

"""The OpenAPI document against the API it describes: schemathesis, every check and every phase
(examples, coverage, fuzzing, and the stateful phase that follows the document's links), against a
real API process over a real database, with a real workspace and file. Any failure fails.

The settings are in schemathesis.toml next to this file; its seed is fixed, so a failure here is
reproducible with the command the test prints.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from string import Template
from typing import Any

import httpx
import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture
def api(api_process: Callable[..., Any], database_url: str, tmp_path: Path) -> Any:
    server = api_process(
        {
            "VIBE_DATABASE_URL": database_url,
            "VIBE_DOGSTATSD": "false",
            "VIBE_SAMPLES": "false",
            # Sessions go through their real states to `error` (no code-server binary here)
            # rather than starting one code-server per generated case.
            "VIBE_CODE_SERVER_BIN": str(tmp_path / "no-code-server"),
        }
    )
    server.wait_ready(60)
    return server


@pytest.mark.slow
def test_the_api_answers_as_its_openapi_document_says(api: Any, tmp_path: Path) -> None:
    # The two runs together send ~1,200 requests, more than a premium user's 1,000 an hour:
    # each runs as its own user (a token each), so neither is judged on 429s.
    first, second = (_user(api, f"contract-{n}") for n in (1, 2))
    real = Template((HERE / "real-workspace.toml").read_text()).substitute(
        workspace_id=first["workspace"]
    )
    # Two runs, so that the fixed workspace never stands in for one the stateful phase created.
    for phases, user, extra in (
        ("examples,coverage,fuzzing", first, real),
        ("stateful", second, ""),
    ):
        common = Template((HERE / "schemathesis.toml").read_text()).substitute(token=user["token"])
        _schemathesis(api, tmp_path, phases, common + "\n" + extra)


def _user(api: Any, name: str) -> dict[str, str]:
    """A premium user with a workspace holding a real file, and an account token."""
    headers = {"Remote-User": name, "Remote-Groups": "vibecode-premium"}
    with httpx.Client(base_url=api.url, headers=headers) as client:
        ws = client.post("/api/workspaces", json={"name": "contract"})
        assert ws.status_code == 201, ws.text
        workspace_id = ws.json()["id"]
        upload = client.post(
            f"/api/workspaces/{workspace_id}/files",
            files={"file": ("notes.md", b"# Deploying\n\nRun pulumi up, then watch the canary.\n")},
        )
        assert upload.status_code == 201, upload.text
        token = client.post("/api/tokens", json={"name": "schemathesis"}).json()["token"]
    return {"workspace": workspace_id, "token": token}


def _schemathesis(api: Any, tmp_path: Path, phases: str, config: str) -> None:
    path = tmp_path / f"schemathesis-{phases.replace(',', '-')}.toml"
    path.write_text(config)
    argv = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(path),
        "run",
        f"{api.url}/schema/openapi.json",
        "--url",
        api.url,
        "--phases",
        phases,
    ]
    result = subprocess.run(
        argv, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, (
        f"schemathesis found failures (reproduce: {' '.join(argv)})\n{result.stdout[-20000:]}"
        f"\n{result.stderr[-2000:]}\n--- API log ---\n{api.output()[-3000:]}"
    )

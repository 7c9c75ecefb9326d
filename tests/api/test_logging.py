"""Logs: JSON lines with a request id, and secrets masked wherever they could appear."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from vibecode_api.logs import MASK, SecretMasker

from ..conftest import with_database
from .routes_for_tests import HANDLERS

KEY = "sk-live-SECRET-0123456789abcdef"
PASSWORD = "pg-pass-SECRET-98765"


def _json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_masker_scrubs_values_keys_urls_and_tokens() -> None:
    m = SecretMasker()
    m.register([KEY])
    assert m.mask_text(f"calling with {KEY}!") == f"calling with {MASK}!"
    assert m.mask({"authorization": "anything"}, "headers") == {"authorization": MASK}
    assert m.mask_text("postgresql://app:pw123@db:5432/x") == f"postgresql://app:{MASK}@db:5432/x"
    assert m.mask_text("Authorization: Bearer abc.def-ghi") == f"Authorization: Bearer {MASK}"
    assert m.mask({"nested": [{"api_key": "k"}]}) == {"nested": [{"api_key": MASK}]}


def test_in_process_errors_and_requests_never_log_a_secret(
    make_client: Any,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    pg_server: Any,
) -> None:
    monkeypatch.setenv("MEGALLM_API_KEY", KEY)
    url = with_database(pg_server.url, "postgres").replace("postgres:@", f"postgres:{PASSWORD}@")
    client = make_client(extra_handlers=HANDLERS, log_level="debug", database_url=url)
    capfd.readouterr()
    r = client.get(
        "/test/boom",
        params={"secret": KEY},
        headers={"Authorization": f"Bearer {KEY}", "Cookie": f"session={KEY}"},
    )
    assert r.status_code == 500
    assert KEY not in r.text
    client.get(f"/no/{KEY}")
    out = capfd.readouterr()
    logged = out.out + out.err
    lines = _json_lines(out.out)
    assert any(line.get("event") == "unhandled_error" for line in lines)
    assert all("request_id" in line for line in lines if line.get("event") == "request")
    assert KEY not in logged
    assert PASSWORD not in logged
    assert MASK in logged


def test_the_real_server_logs_no_secret_from_requests_or_errors(
    api_process: Any,
    tmp_path: Path,
    pg_server: Any,
) -> None:
    url = with_database(pg_server.url, "postgres").replace("postgres:@", f"postgres:{PASSWORD}@")
    api = api_process({"MEGALLM_API_KEY": KEY, "VIBE_LOG_LEVEL": "debug", "VIBE_DATABASE_URL": url})
    api.wait_ready()
    headers = {"Authorization": f"Bearer {KEY}", "Cookie": f"token={KEY}", "X-Api-Key": KEY}
    httpx.get(f"{api.url}/api/health", headers=headers)
    httpx.get(f"{api.url}/missing/{KEY}?api_key={KEY}", headers=headers)
    httpx.post(f"{api.url}/api/health", content=KEY, headers=headers)
    assert api.stop(signal.SIGINT) == 0
    output = api.output()
    lines = _json_lines(output)
    assert any(line.get("path", "").startswith("/missing/") for line in lines)
    assert KEY not in output
    assert PASSWORD not in output

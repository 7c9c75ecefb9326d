"""Settings: defaults from API.md, and one clear line (exit 2) for every bad value."""

from __future__ import annotations

import ipaddress
import subprocess

import pytest
from vibecode_api.settings import Settings, load_settings

from ..conftest import PYTHON


def test_defaults_follow_the_contract(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings()
    assert (s.host, s.port, str(s.data_dir), s.database_url) == ("127.0.0.1", 8000, ".vibe", None)
    assert s.provider == "megallm"
    assert s.chain == ["megallm", "openrouter", "agentrouter", "routeway"]
    assert s.model == "qwen/qwen3-next-80b-a3b-instruct"
    assert (s.timeout, s.max_retries, s.dry_run, s.audit, s.log_level) == (
        60000,
        3,
        False,
        True,
        "info",
    )
    assert s.trusted_proxies == [
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"),
    ]
    assert (s.premium_groups, s.admin_groups) == (["vibecode-premium"], ["vibecode-admins"])
    assert s.dev_user is None
    assert s.embeddings == "local"


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VIBE_FALLBACK_PROVIDERS", "routeway, openrouter")
    monkeypatch.setenv("VIBE_TRUSTED_PROXIES", "10.0.0.0/8,fd00::/8")
    monkeypatch.setenv("VIBE_DRY_RUN", "true")
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-123456")
    monkeypatch.setenv("VIBE_OPENROUTER_BASE_URL", "http://127.0.0.1:9999/v1/")
    s = Settings()
    assert s.chain == ["megallm", "routeway", "openrouter"]
    assert [str(n) for n in s.trusted_proxies] == ["10.0.0.0/8", "fd00::/8"]
    assert s.dry_run is True
    assert s.api_key("openrouter") == "sk-or-123456"
    assert s.api_key("megallm") is None
    assert s.base_url("openrouter") == "http://127.0.0.1:9999/v1"
    assert "sk-or-123456" in s.secret_values()


BAD_VALUES = [
    ("VIBE_PORT", "abc", "1-65535"),
    ("VIBE_PORT", "70000", "1-65535"),
    ("VIBE_TIMEOUT", "-5", "100-600000"),
    ("VIBE_MAX_RETRIES", "many", "0-10"),
    ("VIBE_DRY_RUN", "maybe", "true blocks every write"),
    ("VIBE_AUDIT", "perhaps", "false turns the audit log off"),
    ("VIBE_LOG_LEVEL", "loud", "debug, info, warn, warning, error"),
    ("VIBE_PROVIDER", "skynet", "megallm, openrouter, agentrouter, routeway"),
    ("VIBE_FALLBACK_PROVIDERS", "openrouter,nope", "megallm, openrouter, agentrouter, routeway"),
    ("VIBE_TRUSTED_PROXIES", "not-a-cidr", "CIDRs"),
    ("VIBE_EMBEDDINGS", "magic", "local or provider"),
    ("VIBE_MEGALLM_BASE_URL", "ftp://x", "http or https URL"),
]


@pytest.mark.parametrize(("var", "value", "allowed"), BAD_VALUES)
def test_bad_value_is_one_line_naming_variable_value_and_allowed(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    var: str,
    value: str,
    allowed: str,
) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(SystemExit) as exc:
        load_settings()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert var in err
    assert repr(value) in err
    assert allowed in err


def test_secret_values_are_not_echoed_in_config_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("VIBE_DATABASE_URL", "mysql://root:hunter2hunter2@db/x")
    with pytest.raises(SystemExit):
        load_settings()
    err = capsys.readouterr().err
    assert "VIBE_DATABASE_URL" in err
    assert "postgresql://" in err
    assert "hunter2hunter2" not in err


def test_the_real_entry_point_exits_2_before_starting_anything(tmp_path: object) -> None:
    done = subprocess.run(
        [PYTHON, "-m", "vibecode_api"],
        env={"VIBE_PORT": "http"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(tmp_path),
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "invalid configuration: VIBE_PORT='http': Input should be a valid integer, unable to "
        "parse string as an integer; allowed: TCP port, 1-65535"
    ]
    assert done.stdout == ""

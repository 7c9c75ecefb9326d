"""Shared fixtures: one real embedded PostgreSQL per test session, a fresh database per test."""

from __future__ import annotations

import os
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

# Keep the wheel's lock and sockets out of the developer's own runtime folder.
_RUNTIME = Path(tempfile.gettempdir()) / f"vibecode-test-runtime-{os.getuid()}"
_RUNTIME.mkdir(mode=0o700, exist_ok=True)
os.environ["XDG_RUNTIME_DIR"] = str(_RUNTIME)
REPO = Path(__file__).resolve().parent.parent
CODE_SERVER = os.environ.get("VIBE_CODE_SERVER_BIN") or str(
    REPO / ".tools/code-server/node_modules/.bin/code-server"
)
# Nothing in the environment of the developer's shell may leak into the settings under test.
for _name in list(os.environ):
    if _name.startswith("VIBE_") or _name.endswith("_API_KEY"):
        del os.environ[_name]

from vibecode_api.db.embedded import EmbeddedPostgres  # noqa: E402
from vibecode_api.settings import Settings  # noqa: E402

PYTHON = sys.executable


def with_database(url: str, name: str) -> str:
    """The embedded server's URL pointed at another database."""
    return url.replace("/postgres?", f"/{name}?", 1)


@pytest.fixture
def code_server() -> str:
    """The installed code-server (`make code-server`), or a skip that says how to get it."""
    if not os.access(CODE_SERVER, os.X_OK):
        pytest.skip(f"code-server is not installed at {CODE_SERVER}: run `make code-server`")
    return CODE_SERVER


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path_factory.mktemp("pg"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def database_url(pg_server: EmbeddedPostgres) -> Iterator[str]:
    """A brand-new, empty database on the shared server, dropped after the test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield with_database(pg_server.url, name)
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def make_settings(database_url: str, tmp_path: Path) -> Callable[..., Settings]:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "data_dir": tmp_path / "data",
            "code_server_bin": CODE_SERVER,
            # In-process apps share the pytest process, whose RSS (every app, embedder and
            # browser driver it has hosted) is not an API's: `healthy` must not depend on it.
            # The memory check's own tests set their limit.
            "memory_warn_mb": 8192,
        }
        values.update(overrides)
        return Settings(**values)

    return build

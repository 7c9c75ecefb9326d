"""One release version: `vibecode_core.__version__` is what every package reports at run time,
and each distribution's metadata (its pyproject.toml) is kept at it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import vibecode_api
import vibecode_platform
from vibecode_core import __version__

REPO = Path(__file__).resolve().parents[1]


def test_every_distribution_is_at_the_release_version() -> None:
    projects = [REPO / "pyproject.toml", *sorted(REPO.glob("*/pyproject.toml"))]
    projects += sorted(REPO.glob("*/*/pyproject.toml"))
    found = {
        str(p.relative_to(REPO)): tomllib.loads(p.read_text())["project"]["version"]
        for p in projects
        if ".venv" not in p.parts and "node_modules" not in p.parts
    }
    assert len(found) >= 7, found
    assert {path: v for path, v in found.items() if v != __version__} == {}


def test_the_packages_report_the_release_version() -> None:
    assert vibecode_api.__version__ == vibecode_platform.__version__ == __version__

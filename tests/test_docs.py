"""The docs stay true to the code: the configuration table is the settings model's, README is a
front page (≤ 150 lines) whose links all resolve inside the repository (a clone has no
`../shared`), and every page the site lists exists."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


def test_the_configuration_table_is_generated_from_the_settings_model() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/docs.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    from vibecode_api.settings import Settings, env_name

    table = (ROOT / "docs/configuration.md").read_text()
    for field in Settings.model_fields:
        assert f"| `{env_name(field)}` |" in table


def test_a_stale_table_is_caught(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import docs
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    stale = (ROOT / "docs/configuration.md").read_text().replace("`VIBE_PORT`", "`VIBE_PORTS`")
    assert docs.rendered(stale) != stale


def test_readme_is_a_front_page_whose_links_stay_in_the_repository() -> None:
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 150
    for target, _anchor in LINK.findall(text):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        assert not target.startswith(".."), target
        assert (ROOT / target).exists(), target


def test_every_page_of_the_site_exists_and_no_page_links_outside_the_repository() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    pages = [next(iter(entry.values())) for entry in config["nav"]]
    for page in pages:
        assert (ROOT / "docs" / page).exists(), page
    for page in (ROOT / "docs").glob("*.md"):
        for target, _ in LINK.findall(page.read_text()):
            assert "../shared" not in target, (page.name, target)

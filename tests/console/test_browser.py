"""The console end to end in a real headless Chromium against `python -m vibecode_api` on its
embedded defaults: workspace → three uploads → indexed → search → streamed, cited offline
answer → code-server's workbench in the page → stopped. Screenshots of every step go to
artifacts/console/ (not committed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

FILES = {
    "deploying.md": "# Deploying\n\nProduction deploys happen Monday to Thursday.\n"
    "No production deploys on Fridays.\n",
    "retry.py": '"""Retries."""\n\nMAX_RETRIES = 3\n\n\ndef backoff(attempt: int) -> float:\n'
    "    return min(4.0, 0.25 * 2**attempt)\n",
    "oncall.txt": "The on-call lead approves hotfixes outside deploy windows.\n",
}


@pytest.fixture
def console(api_process: Any, tmp_path: Path, code_server: str) -> Any:
    api = api_process(
        {
            "VIBE_DEV_USER": "alice",
            "VIBE_SAMPLES": "false",
            "VIBE_DATA_DIR": str(tmp_path / "data"),
            "VIBE_CODE_SERVER_BIN": code_server,
            "VIBE_LOG_LEVEL": "warn",
        }
    )
    api.wait_ready(60)
    return api


def _upload_sources(tmp_path: Path) -> list[str]:
    folder = tmp_path / "upload"
    folder.mkdir()
    for name, text in FILES.items():
        (folder / name).write_text(text)
    return [str(folder / name) for name in FILES]


def test_a_user_works_through_the_whole_console(
    browser: Any, console: Any, shots: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    # Our scripts' errors (code-server's own, in its frame, are its business).
    page.on("pageerror", lambda err: errors.append(f"{err.message}\n{err.stack}"))
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(console.url + "/")
    expect(page.locator("#who")).to_contain_text("alice")
    expect(page.locator("#who")).to_contain_text("free")
    shots(page, "home")

    # Create a workspace: the page moves to it.
    page.get_by_label("New workspace").fill("e2e docs")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("e2e docs")
    shots(page, "workspace")

    # Three files at once, each with its own progress, then all indexed.
    page.locator("#upload-input").set_input_files(_upload_sources(tmp_path))
    expect(page.locator("#uploads li.ok")).to_have_count(3, timeout=60_000)
    rows = page.locator("#files tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#files .status-indexed")).to_have_count(3)
    expect(page.locator("#usage")).to_contain_text("Storage")
    shots(page, "uploaded")

    # Search shows path, lines, score and the matching text.
    page.get_by_label("Search this workspace's files").fill("when are deploys forbidden?")
    page.get_by_role("button", name="Search", exact=True).click()
    first = page.locator("#search-results li").first
    expect(first).to_contain_text("deploying.md:")
    expect(first).to_contain_text("score")
    expect(first.locator("pre")).to_contain_text("Fridays")
    shots(page, "search")

    # Chat: no provider configured, so the answer is the retrieved passages, labelled, streamed
    # as SSE, with numbered citations that open the passage.
    page.get_by_label("Ask about this workspace").fill("May we deploy on Fridays?")
    page.get_by_role("button", name="Send").click()
    answer = page.locator(".msg.assistant[data-done='true']")
    expect(answer).to_have_count(1, timeout=60_000)
    expect(answer).to_have_attribute("data-provider", "offline")
    expect(answer.locator(".who")).to_contain_text("offline")
    expect(answer.locator(".text")).to_contain_text("not a generated answer")
    expect(answer.locator(".citations li")).not_to_have_count(0)
    answer.locator("a.cite").first.click()
    expect(answer.locator(".citations details").first).to_have_attribute("open", "")
    expect(answer.locator(".citations pre").first).to_be_visible()
    shots(page, "chat")

    # Console mode: Loading → Starting → Ready, then code-server's workbench inside the page.
    page.get_by_role("button", name="Open console").click()
    frame_el = page.locator("#console-frame")
    expect(frame_el).to_be_visible(timeout=90_000)
    expect(page.get_by_role("link", name="Open in a new tab")).to_have_attribute("target", "_blank")
    password = page.locator("#console-password").inner_text()
    frame = page.frame_locator("#console-frame")
    frame.locator("input[type=password]").fill(password)
    frame.locator("input[type=password]").press("Enter")
    expect(frame.locator(".monaco-workbench")).to_be_visible(timeout=90_000)
    shots(page, "console-ready")

    # A stop from elsewhere (the idle reaper, another tab) shows without a reload.
    ws_id = page.url.rsplit("/", 1)[1]
    gone = httpx.delete(f"{console.url}/api/workspaces/{ws_id}/session", timeout=30)
    assert gone.status_code == 204
    expect(page.locator("#session-state")).to_contain_text("Stopped", timeout=20_000)
    expect(frame_el).to_have_count(0)
    shots(page, "console-stopped-elsewhere")

    # Start again and stop it with the page's own button.
    page.get_by_role("button", name="Open console").click()
    expect(page.locator("#session [data-state='ready']")).to_have_count(1, timeout=90_000)
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#session [data-state='stopped']")).to_have_count(1, timeout=30_000)
    expect(page.get_by_role("button", name="Open console")).to_be_visible()
    shots(page, "console-stopped")

    # Delete, with confirmation: back to the list, which no longer has it.
    page.get_by_role("button", name="Delete workspace").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#workspaces")).not_to_contain_text("e2e docs")
    shots(page, "deleted")
    assert [e for e in errors if f"{console.url}/static/" in e] == []


def test_errors_are_shown_as_the_api_words_them(browser: Any, console: Any, shots: Any) -> None:
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(console.url + "/")
    page.get_by_label("New workspace").fill("twice")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("twice")
    page.get_by_label("New workspace").fill("twice")
    page.get_by_role("button", name="Create").click()
    api = httpx.post(f"{console.url}/api/workspaces", json={"name": "twice"}, timeout=10).json()
    toast = page.get_by_role("alert")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text(api["detail"])
    shots(page, "conflict")


def test_keyboard_and_labels(browser: Any, console: Any, shots: Any) -> None:
    """Every control has an accessible name, every action is reachable by Tab, focus shows."""
    from playwright.sync_api import expect

    created = httpx.post(f"{console.url}/api/workspaces", json={"name": "a11y"}, timeout=10)
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
    page.goto(f"{console.url}/console/workspaces/{created.json()['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text("a11y")
    unnamed = page.evaluate(
        """() => [...document.querySelectorAll('input, textarea, button, a, meter')]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                    && !el.getAttribute('aria-labelledby') && !el.textContent.trim())
            .map(el => el.outerHTML)"""
    )
    assert unnamed == []
    reached: set[str] = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        info = page.evaluate(
            """() => { const el = document.activeElement;
                 if (el === document.body) return null;
                 const style = getComputedStyle(el);
                 return [el.id || el.textContent.trim() || el.tagName, style.outlineStyle]; }"""
        )
        if info is None:  # past the last control
            break
        assert info[1] != "none", f"{info[0]} has no visible focus"
        reached.add(info[0])
    assert {"ws-new-name", "search-query", "chat-input", "console-open"} <= reached
    assert "Delete workspace" in reached
    overflow = page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth")
    assert overflow is False  # nothing wider than a narrow screen
    shots(page, "narrow")

"""The web console's pages and fragments, in process: identity, scoping, escaping, headers and
the polling contract. The browser end to end is in tests/console (real Chromium)."""

from __future__ import annotations

import re
from typing import Any

from ..conftest import as_user

ALICE = as_user("alice")
BOB = as_user("bob")
PREMIUM = as_user("carol", "vibecode-premium")


def _workspace(client: Any, headers: dict[str, str], name: str = "docs") -> str:
    r = client.post("/api/workspaces", json={"name": name}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_the_console_is_served_at_root_with_who_you_are_and_your_tier(client: Any) -> None:
    r = client.get("/", headers=PREMIUM)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "Carol" in r.text
    assert 'class="badge tier-premium"' in r.text
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "<script>" not in r.text
    assert " on" + "click=" not in r.text
    assert r.headers["cache-control"] == "no-store"


def test_no_identity_no_console(client: Any, make_client: Any) -> None:
    assert client.get("/").status_code == 401
    outsider = make_client(peer="203.0.113.9")
    assert outsider.get("/", headers=ALICE).status_code == 401


def test_dev_user_opens_the_console_without_a_proxy(make_client: Any) -> None:
    client = make_client(dev_user="dev")
    r = client.get("/")
    assert r.status_code == 200
    assert "<strong>Dev</strong>" not in r.text
    assert "dev" in r.text


def test_console_pages_do_not_use_up_the_hourly_api_limit(client: Any) -> None:
    for _ in range(3):
        assert client.get("/console/fragments/usage", headers=ALICE).status_code == 200
    usage = client.get("/api/usage", headers=ALICE).json()["quotas"]["apiCallsPerHour"]
    assert usage["used"] == 1  # only this /api/usage call counted


def test_workspace_page_lists_files_and_shows_only_the_owners_workspaces(client: Any) -> None:
    ws = _workspace(client, ALICE, name="alice-plans")
    r = client.post(
        f"/api/workspaces/{ws}/files",
        files={"file": ("notes/deploy.md", b"# Deploy\nfridays only\n")},
        headers=ALICE,
    )
    assert r.status_code == 201
    page = client.get(f"/console/workspaces/{ws}", headers=ALICE)
    assert page.status_code == 200
    assert "notes/deploy.md" in page.text
    assert "status-indexed" in page.text
    assert 'aria-current="page"' in page.text
    assert client.get(f"/console/workspaces/{ws}", headers=BOB).status_code == 404
    assert client.get(f"/console/fragments/workspaces/{ws}/files", headers=BOB).status_code == 404
    assert client.get(f"/console/fragments/workspaces/{ws}/session", headers=BOB).status_code == 404
    assert "alice-plans" not in client.get("/console/fragments/workspaces", headers=BOB).text


def test_names_are_escaped(client: Any) -> None:
    ws = _workspace(client, ALICE, name="<img src=x onerror=alert(1)>")
    page = client.get(f"/console/workspaces/{ws}", headers=ALICE).text
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_files_fragment_polls_only_while_something_is_pending(
    client: Any, make_client: Any
) -> None:
    ws = _workspace(client, ALICE)
    fragment = client.get(f"/console/fragments/workspaces/{ws}/files", headers=ALICE).text
    assert "every 2s" not in fragment
    # Provider embeddings with no provider reachable: the file is kept, pending, and polled.
    queued = make_client(embeddings="provider")
    ws = _workspace(queued, ALICE, name="queued")
    up = queued.post(
        f"/api/workspaces/{ws}/files", files={"file": ("a.md", b"hello\n")}, headers=ALICE
    )
    assert up.status_code == 201, up.text
    fragment = queued.get(f"/console/fragments/workspaces/{ws}/files", headers=ALICE).text
    assert "status-pending" in fragment
    assert "every 2s" in fragment


def test_session_watch_answers_204_while_nothing_changed(client: Any) -> None:
    ws = _workspace(client, ALICE)
    url = f"/console/fragments/workspaces/{ws}/session"
    assert client.get(url + "?shown=stopped", headers=ALICE).status_code == 204
    moved = client.get(url + "?shown=ready", headers=ALICE)
    assert moved.status_code == 200
    assert "Open console" in moved.text
    assert "every 1s" not in moved.text  # a stopped console is not polled
    assert moved.headers["hx-trigger"] == "workspaces-changed, usage-changed"


def test_usage_bars_turn_amber_near_the_limit_and_explain_a_full_quota(client: Any) -> None:
    def workspaces_quota() -> tuple[str, str]:
        html = client.get("/console/fragments/usage", headers=ALICE).text
        meter = re.search(r'<meter aria-labelledby="q-workspaces"[^>]*>', html)
        assert meter is not None
        return meter.group(0), html

    for i in range(8):  # free tier: 10 workspaces; amber from 80 %
        _workspace(client, ALICE, name=f"w{i}")
    meter, html = workspaces_quota()
    assert 'value="8"' in meter
    assert 'max="10"' in meter
    assert 'high="8"' in meter
    assert "Nearly full: 2 left." in html
    for i in range(8, 10):
        _workspace(client, ALICE, name=f"w{i}")
    meter, html = workspaces_quota()
    assert "Limit reached: new workspaces are refused" in html


def test_no_secret_reaches_the_page(make_client: Any) -> None:
    client = make_client(megallm_api_key="sk-live-very-secret", dev_user="alice")
    _workspace(client, ALICE)
    for path in ("/", "/console/fragments/usage", "/console/fragments/workspaces"):
        assert "sk-live-very-secret" not in client.get(path, headers=ALICE).text


def test_static_assets_are_versioned_and_cached_for_a_year(client: Any) -> None:
    page = client.get("/", headers=ALICE).text
    src = re.search(r'src="(/static/console\.js\?v=[0-9a-f]{12})"', page)
    assert src is not None
    r = client.get(src.group(1))
    assert r.status_code == 200
    assert "max-age=31536000" in r.headers["cache-control"]
    assert "immutable" in r.headers["cache-control"]
    assert client.get("/static/../settings.py").status_code == 404

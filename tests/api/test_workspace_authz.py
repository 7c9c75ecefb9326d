"""The workspace ingresses' owner check, against a real HTTP server on loopback that answers as
Authelia's auth-request endpoint does (200 with Remote-* headers for a session cookie it knows,
401 without one), and the proxy secret that makes header identity independent of the CNI."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from vibecode_core.tenancy import user_namespace

from .conftest import as_user

SESSIONS = {"alice-session": ("alice", "devs"), "bob-session": ("bob", "vibecode-admins")}


class _Authelia(BaseHTTPRequestHandler):
    seen: list[dict[str, str]] = []

    def do_GET(self) -> None:
        _Authelia.seen.append({k.lower(): v for k, v in self.headers.items()})
        cookie = self.headers.get("Cookie", "")
        session = cookie.removeprefix("authelia_session=")
        if self.path != "/api/authz/auth-request" or session not in SESSIONS:
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        user, groups = SESSIONS[session]
        self.send_response(200)
        self.send_header("Remote-User", user)
        self.send_header("Remote-Groups", groups)
        self.send_header("Remote-Email", f"{user}@example.com")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def authelia() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Authelia)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/authz/auth-request"
    server.shutdown()
    server.server_close()


def _ask(client: Any, owner: str, session: str | None) -> Any:
    headers = {
        "X-Original-URL": f"https://{owner}-ws-demo.vibecode.example.com/",
        "X-Original-Method": "GET",
    }
    if session:
        headers["Cookie"] = f"authelia_session={session}"
    return client.get("/api/authz/workspace", params={"owner": owner}, headers=headers)


def test_the_owner_gets_in_and_every_other_user_gets_403(make_client: Any, authelia: str) -> None:
    # The ingress-nginx pods are not loopback peers, and the route needs no proxy identity.
    client = make_client(authz_url=authelia, peer="10.1.2.3")
    alice = user_namespace("alice")
    mine = _ask(client, alice, "alice-session")
    assert mine.status_code == 200
    assert mine.headers["Remote-User"] == "alice"
    assert mine.headers["Remote-Groups"] == "devs"
    other = _ask(client, alice, "bob-session")  # bob is an admin: still not his workspace
    assert other.status_code == 403
    assert other.json() == {
        "error": "forbidden",
        "detail": "this workspace belongs to another user",
    }
    assert "Remote-User" not in other.headers
    assert _ask(client, user_namespace("bob"), "bob-session").status_code == 200
    assert _ask(client, user_namespace("bob"), "alice-session").status_code == 403


def test_not_signed_in_is_401_so_the_ingress_sends_the_browser_to_sign_in(
    make_client: Any, authelia: str
) -> None:
    client = make_client(authz_url=authelia)
    r = _ask(client, user_namespace("alice"), None)
    assert r.status_code == 401
    assert r.json()["error"] == "unauthenticated"


def test_what_authelia_judges_by_is_relayed_and_nothing_else(
    make_client: Any, authelia: str
) -> None:
    client = make_client(authz_url=authelia)
    _Authelia.seen.clear()
    client.get(
        "/api/authz/workspace",
        params={"owner": user_namespace("alice")},
        headers={
            "Cookie": "authelia_session=alice-session",
            "X-Original-URL": "https://w.example.com/x?y=1",
            "X-Original-Method": "POST",
            "Remote-User": "mallory",
        },
    )
    (seen,) = _Authelia.seen
    assert seen["x-original-url"] == "https://w.example.com/x?y=1"
    assert seen["x-original-method"] == "POST"
    assert seen["cookie"] == "authelia_session=alice-session"
    assert "remote-user" not in seen


def test_an_owner_that_is_not_a_user_namespace_is_a_400(make_client: Any, authelia: str) -> None:
    client = make_client(authz_url=authelia)
    r = client.get("/api/authz/workspace", params={"owner": "kube-system"})
    assert r.status_code == 400


def test_without_an_auth_server_the_check_fails_closed(make_client: Any) -> None:
    client = make_client()
    r = _ask(client, user_namespace("alice"), "alice-session")
    assert r.status_code == 503
    assert r.json()["error"] == "authz_unconfigured"


def test_an_auth_server_that_does_not_answer_fails_closed(make_client: Any) -> None:
    client = make_client(authz_url="http://127.0.0.1:9/api/authz/auth-request")
    r = _ask(client, user_namespace("alice"), "alice-session")
    assert r.status_code == 503
    assert r.json()["error"] == "authz_unavailable"


SECRET = "s3cret-proxy-value-0123456789"


def test_with_a_proxy_secret_a_trusted_pod_without_it_gets_401(make_client: Any) -> None:
    client = make_client(peer="10.20.30.40", trusted_proxies="10.0.0.0/8", proxy_secret=SECRET)
    forged = client.get("/api/me", headers=as_user("admin", "vibecode-admins"))
    assert forged.status_code == 401
    assert "X-Vibe-Proxy-Secret" in forged.json()["detail"]
    wrong = client.get(
        "/api/me", headers={**as_user("admin"), "X-Vibe-Proxy-Secret": SECRET[:-1] + "x"}
    )
    assert wrong.status_code == 401
    right = client.get("/api/me", headers={**as_user("alice"), "X-Vibe-Proxy-Secret": SECRET})
    assert right.status_code == 200
    assert right.json()["user"] == "alice"


def test_loopback_peers_need_no_proxy_secret(make_client: Any) -> None:
    """`kubectl port-forward` (vibe deploy's smoke test) arrives from the pod's own loopback."""
    client = make_client(proxy_secret=SECRET)
    assert client.get("/api/me", headers=as_user("vibe-smoke-test")).status_code == 200


def test_a_short_proxy_secret_is_refused_at_start(make_settings: Any) -> None:
    with pytest.raises(Exception, match="16"):
        make_settings(proxy_secret="short")

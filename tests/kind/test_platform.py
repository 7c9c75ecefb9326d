"""The dev stack on a real KIND cluster, as a user meets it: `pulumi up` → sign in to Authelia as
a provisioned user → the own workspace opens and another user's is 403 → the API through the
ingress → a blue/green flip → `vibe deploy` and rollback → `pulumi destroy`.

Needs Docker, kind, kubectl, Helm and the Pulumi CLI, a cluster from `kind-config.yaml` (`vibe
kind up`, then Calico), and the images loaded into it (`kind load docker-image
vibecode/api:0.1.0 vibecode/workspace:4.99.4 --name vibecode`). The tests run in file order;
the last one destroys the stack.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {
    **os.environ,
    "PULUMI_CONFIG_PASSPHRASE": os.environ.get("PULUMI_CONFIG_PASSPHRASE", ""),
    "PULUMI_BACKEND_URL": os.environ.get("PULUMI_BACKEND_URL", f"file://{ROOT / '.pulumi'}"),
}
DOMAIN = "vibecode.127.0.0.1.nip.io"
APP = f"https://app.{DOMAIN}"
AUTH = f"https://auth.{DOMAIN}"
PASSWORD = "kind-journey-password-0123"


def sh(*argv: str, timeout: int = 900) -> str:
    return subprocess.run(
        argv, cwd=ROOT, env=ENV, check=True, capture_output=True, text=True, timeout=timeout
    ).stdout


def set_config(key: str, value: str, flag: str = "--path") -> None:
    """`pulumi config set` of one `vibecode:` value on the dev stack."""
    sh("pulumi", "config", "set", "--stack", "dev", flag, f"vibecode:{key}", value)


def up() -> None:
    sh("pulumi", "up", "--stack", "dev", "--yes", "--skip-preview", timeout=1800)


@pytest.fixture(scope="module")
def deployed() -> None:
    (ROOT / ".pulumi").mkdir(exist_ok=True)
    subprocess.run(
        ["pulumi", "stack", "select", "--create", "dev"],
        cwd=ROOT,
        env=ENV,
        check=True,
        capture_output=True,
    )
    # Datadog needs real keys: from DD_API_KEY/DD_APP_KEY when set, otherwise it is turned off.
    if os.environ.get("DD_API_KEY") and os.environ.get("DD_APP_KEY"):
        for key, var in (("datadogApiKey", "DD_API_KEY"), ("datadogAppKey", "DD_APP_KEY")):
            set_config(key, os.environ[var], "--secret")
    else:
        set_config("datadog.enabled", "false")
    # Scripted sign-in cannot do a second factor: this throwaway cluster asks for one (the
    # config refuses one_factor in prod).
    set_config("auth.policy", "one_factor")
    up()
    # alice and bob get hashes made by Authelia's own CLI, then the users file is re-rendered.
    hashed = sh(
        "kubectl", "-n", "authelia", "exec", "deploy/authelia", "--",
        "authelia", "crypto", "hash", "generate", "argon2", "--password", PASSWORD,
    ).split("Digest: ", 1)[1].strip()  # fmt: skip
    for i, user in enumerate(("alice", "bob")):
        set_config(f"auth.users[{i}].username", user)
        set_config(f"auth.users[{i}].email", f"{user}@example.com")
        set_config(f"auth.users[{i}].passwordHash", hashed)
    up()
    sh(
        "kubectl",
        "-n",
        "vibecode",
        "rollout",
        "status",
        "deployment/vibecode-api-blue",
        "--timeout=300s",
    )


def sign_in(user: str, password: str = PASSWORD) -> httpx.Client:
    """A browser-like client with Authelia's session cookie for `user`."""
    client = httpx.Client(verify=False, follow_redirects=False, timeout=30)
    r = client.post(
        f"{AUTH}/api/firstfactor",
        json={"username": user, "password": password, "keepMeLoggedIn": False},
    )
    assert r.status_code == 200, r.text
    assert any(c.name == "authelia_session" for c in client.cookies.jar)
    return client


def test_the_provisioned_admin_signs_in_and_the_template_account_does_not(deployed: None) -> None:
    admin_password = sh("pulumi", "stack", "output", "--stack", "dev", "--show-secrets",
                        "adminPassword").strip()  # fmt: skip
    sign_in("admin", admin_password)
    r = httpx.post(
        f"{AUTH}/api/firstfactor",
        json={"username": "authelia", "password": "authelia"},
        verify=False,
    )
    assert r.status_code == 401


def test_the_own_workspace_opens_and_another_users_is_403(deployed: None) -> None:
    for ns in ("user-alice-ws-demo", "user-bob-ws-demo"):
        sh("kubectl", "-n", ns, "scale", "deploy/code-server", "--replicas=1")
        sh("kubectl", "-n", ns, "rollout", "status", "deploy/code-server", "--timeout=300s")
    alice = sign_in("alice")
    own = alice.get(f"https://user-alice-ws-demo.{DOMAIN}/healthz")
    assert own.status_code == 200, own.text
    assert alice.get(f"https://user-bob-ws-demo.{DOMAIN}/healthz").status_code == 403
    bob = sign_in("bob")
    assert bob.get(f"https://user-bob-ws-demo.{DOMAIN}/healthz").status_code == 200
    assert bob.get(f"https://user-alice-ws-demo.{DOMAIN}/healthz").status_code == 403


def test_the_api_answers_as_the_signed_in_user_through_the_ingress(deployed: None) -> None:
    me = sign_in("alice").get(f"{APP}/api/me")
    assert me.status_code == 200, me.text
    assert me.json()["user"] == "alice"


def test_a_pod_forging_identity_headers_gets_401(deployed: None) -> None:
    """The proxy secret: a pod that the policies do let reach the API (here one in the ingress
    controller's namespace; on a CNI that ignores policies, any pod) is nobody without it."""
    script = (
        "import urllib.request as u, urllib.error as e\n"
        "r = u.Request('http://vibecode-api.vibecode/api/me', headers={'Remote-User': 'admin'})\n"
        "try:\n    print(u.urlopen(r, timeout=10).status)\n"
        "except e.HTTPError as err:\n    print(err.code)\n"
    )
    out = sh(
        "kubectl", "-n", "ingress-nginx", "run", "forger", "--rm", "-i", "--restart=Never",
        "--image=vibecode/api:0.1.0", "--image-pull-policy=IfNotPresent", "--",
        "python", "-c", script,
    )  # fmt: skip
    assert out.strip().splitlines()[-1] == "401"


def test_an_unauthenticated_request_is_redirected_to_authelia(deployed: None) -> None:
    r = httpx.get(APP + "/api/workspaces", verify=False, follow_redirects=False)
    assert r.status_code in (302, 303)
    assert r.headers["location"].startswith(AUTH)


def test_the_api_is_ready_behind_the_ingress(deployed: None) -> None:
    out = sh(
        "kubectl",
        "-n",
        "vibecode",
        "exec",
        "deploy/vibecode-api-blue",
        "--",
        "python",
        "-c",
        "import urllib.request;print(urllib.request.urlopen("
        "'http://127.0.0.1:8000/api/health/ready').status)",
    )
    assert out.strip() == "200"


def test_a_workspace_pod_cannot_reach_another_workspace_or_the_database(deployed: None) -> None:
    probe = (
        "import socket,sys\n"
        "s=socket.socket();s.settimeout(3)\n"
        "sys.exit(0 if s.connect_ex((sys.argv[1],int(sys.argv[2])))==0 else 1)"
    )
    sh("kubectl", "-n", "user-alice-ws-demo", "scale", "deploy/code-server", "--replicas=1")
    sh(
        "kubectl",
        "-n",
        "user-alice-ws-demo",
        "rollout",
        "status",
        "deploy/code-server",
        "--timeout=300s",
    )
    for host, port in (
        ("code-server.user-bob-ws-demo.svc.cluster.local", 80),
        ("vibecode-db-rw.vibecode-data.svc.cluster.local", 5432),
    ):
        done = subprocess.run(
            [
                "kubectl",
                "-n",
                "user-alice-ws-demo",
                "exec",
                "deploy/code-server",
                "--",
                "python3",
                "-c",
                probe,
                host,
                str(port),
            ],
            env=ENV,
            capture_output=True,
            timeout=60,
        )
        assert done.returncode != 0, f"{host}:{port} is reachable from a workspace"


def test_a_blue_green_flip_changes_the_live_version(deployed: None) -> None:
    set_config("api.activeColor", "green")
    try:
        up()
        selector = json.loads(
            sh(
                "kubectl",
                "-n",
                "vibecode",
                "get",
                "service",
                "vibecode-api",
                "-o",
                "jsonpath={.spec.selector}",
            )
        )
        assert selector["vibecode.dev/color"] == "green"
    finally:
        set_config("api.activeColor", "blue")
        up()


def vibe(*args: str, timeout: int = 1800) -> Any:
    """`vibe --json ARGS` through uv, its JSON document."""
    return json.loads(sh("uv", "run", "vibe", "--json", *args, timeout=timeout))


def test_vibe_deploy_goes_live_and_rolls_back(deployed: None) -> None:
    """The CLI's blue-green path end to end: deploy the same image to green, then roll back."""
    out = vibe("deploy", "vibecode/api:0.1.0", "--stack", "dev", timeout=3600)
    assert (out["ok"], out["active"]) == (True, "green"), out
    back = vibe("rollback", "--stack", "dev", timeout=3600)
    assert (back["ok"], back["active"]) == (True, "blue"), back


def test_vibe_workspaces_create_list_delete(deployed: None) -> None:
    create = ("workspaces", "create", "kind-user", "lab", "--tier", "free")
    assert vibe(*create)["stack"] == "user-kind-user-ws-lab"
    assert vibe(*create)["result"] == "succeeded"  # idempotent
    assert "user-kind-user-ws-lab" in [s["stack"] for s in vibe("workspaces", "list")]
    vibe("workspaces", "delete", "kind-user", "lab")
    assert sh("kubectl", "get", "namespace", "user-kind-user-ws-lab", "--ignore-not-found") == ""


def test_destroy_removes_everything(deployed: None) -> None:
    sh("pulumi", "destroy", "--stack", "dev", "--yes", "--skip-preview", timeout=1800)
    left = sh(
        "kubectl", "get", "namespaces", "-l", "app.kubernetes.io/part-of=vibecode", "-o", "name"
    )
    assert left.strip() == ""

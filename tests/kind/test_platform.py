"""The dev stack on a real KIND cluster: `pulumi up`, then the platform behaves as declared.

Needs Docker, kind, kubectl and the Pulumi CLI, a cluster from `kind-config.yaml` (`vibe kind up`)
and the images loaded into it (`kind load docker-image vibecode/api:0.1.0 --name vibecode`).
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
APP = "https://app.vibecode.127.0.0.1.nip.io"


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


def test_an_unauthenticated_request_is_redirected_to_authelia(deployed: None) -> None:
    r = httpx.get(APP + "/api/workspaces", verify=False, follow_redirects=False)
    assert r.status_code in (302, 303)
    assert r.headers["location"].startswith("https://auth.vibecode.127.0.0.1.nip.io")


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

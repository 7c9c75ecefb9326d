"""The kubernetes provisioner: state from pod conditions, and scaling through the API.

The API calls go to a small Kubernetes API server on 127.0.0.1 that speaks the two endpoints the
provisioner uses (merge-patch a Deployment, list Pods by label); `tests/kind` runs the same code
against a real cluster.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import pytest
from vibecode_api.provisioners import WorkspaceRef
from vibecode_api.provisioners.kubernetes import KubernetesProvisioner, derive_state
from vibecode_api.settings import Settings

URL = "https://ns.example/"
LABELS = {"app.kubernetes.io/name": "code-server"}


def pod(
    phase: str = "Running",
    *,
    ready: bool = False,
    scheduled: bool = True,
    waiting: str | None = None,
    deleting: bool = False,
    created: str = "2026-01-01T00:00:00Z",
) -> dict[str, Any]:
    conditions = [
        {"type": "PodScheduled", "status": str(scheduled)},
        {"type": "Ready", "status": str(ready)},
    ]
    statuses = [
        {
            "name": "code-server",
            "image": "cs",
            "imageID": "",
            "ready": ready,
            "restartCount": 0,
            "state": {"waiting": {"reason": waiting, "message": "m"}}
            if waiting
            else {"running": {}},
        }
    ]
    meta: dict[str, Any] = {"name": "code-server-abc", "creationTimestamp": created}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    return {
        "metadata": meta,
        "status": {"phase": phase, "conditions": conditions, "containerStatuses": statuses},
    }


@pytest.mark.parametrize(
    ("pods", "state"),
    [
        ([], "loading"),
        ([pod("Pending", scheduled=False)], "loading"),
        ([pod("Pending", scheduled=True)], "starting"),
        ([pod("Running", ready=False)], "starting"),
        ([pod("Running", ready=True)], "ready"),
        ([pod("Pending", waiting="ImagePullBackOff")], "error"),
        ([pod("Running", waiting="CrashLoopBackOff")], "error"),
        ([pod("Pending", waiting="ContainerCreating")], "starting"),
        ([pod("Failed")], "error"),
        ([pod("Running", ready=True, deleting=True)], "stopped"),
        (
            [
                pod("Running", ready=True, created="2026-01-01T00:00:00Z"),
                pod("Pending", scheduled=False, created="2026-01-02T00:00:00Z"),
            ],
            "loading",
        ),
    ],
)
def test_state_is_derived_from_the_newest_live_pod(pods: list[dict[str, Any]], state: str) -> None:
    probe = derive_state(pods, URL)
    assert probe.state == state
    assert (probe.url == URL) == (state == "ready")
    if state == "error":
        assert probe.error


class FakeKubernetes(BaseHTTPRequestHandler):
    """Deployments' replicas and the pods they would have, per namespace."""

    replicas: dict[str, int] = {}
    pod_phase = "Running"
    requests: list[tuple[str, str, Any]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PATCH(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        parts = self.path.split("?")[0].split("/")  # /apis/apps/v1/namespaces/NS/deployments/NAME
        ns, name = parts[5], parts[7]
        self.requests.append(("PATCH", self.path, (self.headers["Content-Type"], body)))
        self.replicas[ns] = body["spec"]["replicas"]
        self._reply(
            200,
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": ns},
                "spec": {
                    "replicas": self.replicas[ns],
                    "selector": {"matchLabels": LABELS},
                    "template": {
                        "metadata": {"labels": LABELS},
                        "spec": {"containers": [{"name": "code-server", "image": "cs"}]},
                    },
                },
            },
        )

    def do_GET(self) -> None:
        path = self.path.partition("?")[0]
        ns = path.split("/")[4]  # /api/v1/namespaces/NS/pods
        self.requests.append(("GET", self.path, None))
        items = [
            pod(self.pod_phase, ready=True)
            | {
                "apiVersion": "v1",
                "kind": "Pod",
                "spec": {"containers": [{"name": "code-server", "image": "cs"}]},
            }
            for _ in range(self.replicas.get(ns, 0))
        ]
        self._reply(200, {"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": items})


@pytest.fixture
def fake_kube() -> Iterator[str]:
    FakeKubernetes.replicas, FakeKubernetes.requests = {}, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeKubernetes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_start_probe_stop_scale_the_deployment(fake_kube: str) -> None:
    from lightkube import AsyncClient, KubeConfig

    ws = WorkspaceRef(id="w1", user="alice", namespace="user-alice-ws-w1")

    async def scenario() -> list[str]:
        config = KubeConfig.from_dict(
            {
                "clusters": [{"name": "fake", "cluster": {"server": fake_kube}}],
                "users": [{"name": "sa", "user": {"token": "t0ken"}}],
                "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "sa"}}],
                "current-context": "fake",
            }
        )
        client = AsyncClient(config=config)
        prov = KubernetesProvisioner(Settings(workspace_domain="dev.example"), client=client)
        seen = [(await prov.probe(ws, {})).state]
        handle = await prov.start(ws)
        probe = await prov.probe(ws, handle)
        seen.append(probe.state)
        assert probe.url == "https://user-alice-ws-w1.dev.example/"
        await prov.stop(ws, handle)
        seen.append((await prov.probe(ws, handle)).state)
        await prov.aclose()
        return seen

    assert anyio.run(scenario) == ["loading", "ready", "loading"]
    patches = [r for r in FakeKubernetes.requests if r[0] == "PATCH"]
    assert [p[1].split("?")[0] for p in patches] == [
        "/apis/apps/v1/namespaces/user-alice-ws-w1/deployments/code-server"
    ] * 2
    assert [p[2] for p in patches] == [
        ("application/merge-patch+json", {"spec": {"replicas": 1}}),
        ("application/merge-patch+json", {"spec": {"replicas": 0}}),
    ]
    lists = [r[1] for r in FakeKubernetes.requests if r[0] == "GET"]
    assert all("labelSelector=app.kubernetes.io%2Fname%3Dcode-server" in q for q in lists)

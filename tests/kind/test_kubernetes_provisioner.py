"""The kubernetes provisioner against a real cluster: scale a code-server Deployment 0 ↔ 1."""

from __future__ import annotations

import uuid

import anyio
from vibecode_api.provisioners import WorkspaceRef
from vibecode_api.provisioners.kubernetes import DEPLOYMENT, POD_LABELS, KubernetesProvisioner
from vibecode_api.settings import Settings


def test_a_session_scales_the_deployment_up_to_ready_and_back_down() -> None:
    from lightkube import AsyncClient
    from lightkube.models.apps_v1 import DeploymentSpec
    from lightkube.models.core_v1 import Container, PodSpec, PodTemplateSpec
    from lightkube.models.meta_v1 import LabelSelector, ObjectMeta
    from lightkube.resources.apps_v1 import Deployment
    from lightkube.resources.core_v1 import Namespace

    ns = f"vibe-test-{uuid.uuid4().hex[:8]}"
    ws = WorkspaceRef(id="t", user="kind", namespace=ns)

    async def scenario() -> list[str]:
        client = AsyncClient()
        await client.create(Namespace(metadata=ObjectMeta(name=ns)))
        try:
            await client.create(
                Deployment(
                    metadata=ObjectMeta(name=DEPLOYMENT, namespace=ns),
                    spec=DeploymentSpec(
                        replicas=0,
                        selector=LabelSelector(matchLabels=POD_LABELS),
                        template=PodTemplateSpec(
                            metadata=ObjectMeta(labels=POD_LABELS),
                            spec=PodSpec(
                                containers=[
                                    Container(
                                        name="code-server", image="registry.k8s.io/pause:3.10"
                                    )
                                ]
                            ),
                        ),
                    ),
                )
            )
            prov = KubernetesProvisioner(Settings(workspace_domain="kind.local"), client=client)
            handle = await prov.start(ws)
            seen = []
            with anyio.fail_after(180):
                while (state := (await prov.probe(ws, handle)).state) != "ready":
                    seen.append(state)
                    await anyio.sleep(1)
            seen.append(state)
            await prov.stop(ws, handle)
            return seen
        finally:
            await client.delete(Namespace, ns)

    states = anyio.run(scenario)
    assert states[-1] == "ready"
    assert set(states) <= {"loading", "starting", "ready"}

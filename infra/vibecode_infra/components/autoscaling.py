"""The API's autoscaler: a HorizontalPodAutoscaler on `vibecode.api.active_user_sessions`,
read through a DatadogMetric from the Cluster Agent's external metrics provider; the live colour
only.

Why an HPA: the pinned Datadog chart (charts.DATADOG) installs the DatadogMetric CRD and the
external metrics provider, but neither a WatermarkPodAutoscaler CRD and controller (their chart
lives only in the DataDog/watermarkpodautoscaler repository, in no Helm repository) nor the
v1alpha2 DatadogPodAutoscaler its autoscaling feature would need. An HPA is built in: nothing
else has to exist for it to work.

Every API pod reports the platform-wide session count (from the database), so the DatadogMetric's
`avg` is the platform's number; an `AverageValue` target divides it by the current replicas, so
the HPA aims at `targetSessionsPerPod` sessions per pod. The external metric is named
`datadogmetric@<namespace>:<name>` (the Cluster Agent's convention for DatadogMetric objects).
The idle colour is never autoscaled: it keeps its configured replicas for smoke tests and
instant rollback.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from vibecode_core import metric_names

from ..config import StackConfig

METRIC = "vibecode-api-sessions"


def _quantity(value: float) -> str:
    """A Kubernetes quantity: integers as such, fractions in milli-units."""
    return str(int(value)) if float(value).is_integer() else f"{round(value * 1000)}m"


def metric_query(cfg: StackConfig) -> str:
    return f"avg:{metric_names.ACTIVE_SESSIONS}{{env:{cfg.environment},service:vibecode-api}}"


def hpa_spec(cfg: StackConfig, namespace: str, deployment: str) -> dict[str, Any]:
    scaling = cfg.datadog.autoscaling
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
        "minReplicas": scaling.min_replicas,
        "maxReplicas": scaling.max_replicas,
        "metrics": [
            {
                "type": "External",
                "external": {
                    "metric": {"name": f"datadogmetric@{namespace}:{METRIC}"},
                    "target": {
                        "type": "AverageValue",
                        "averageValue": _quantity(scaling.target_sessions_per_pod),
                    },
                },
            }
        ],
        "behavior": {
            "scaleUp": {
                "stabilizationWindowSeconds": 60,
                "policies": [
                    {"type": "Percent", "value": scaling.scale_up_limit, "periodSeconds": 60}
                ],
            },
            "scaleDown": {
                "stabilizationWindowSeconds": 300,
                "policies": [
                    {"type": "Percent", "value": scaling.scale_down_limit, "periodSeconds": 300}
                ],
            },
        },
    }


class ApiAutoscaler(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        namespace: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("vibecode:autoscaling:ApiAutoscaler", name, None, opts)
        mode = cfg.datadog.autoscaling.mode
        deployment = f"vibecode-api-{cfg.api.active_color}"
        if mode == "hpa":
            child = pulumi.ResourceOptions(parent=self)
            metric = k8s.apiextensions.CustomResource(
                METRIC,
                api_version="datadoghq.com/v1alpha1",
                kind="DatadogMetric",
                metadata={"name": METRIC, "namespace": namespace},
                spec={"query": metric_query(cfg)},
                opts=child,
            )
            k8s.autoscaling.v2.HorizontalPodAutoscaler(
                "vibecode-api-hpa",
                metadata={"name": "vibecode-api", "namespace": namespace},
                spec=hpa_spec(cfg, namespace, deployment),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[metric]),
            )
        self.register_outputs({"mode": mode, "target": deployment})

"""The API's autoscaler: a WatermarkPodAutoscaler on `vibecode.api.active_user_sessions`, or a
DatadogPodAutoscaler with the same objective — one of them, on the live colour only.

Every API pod reports the platform-wide session count (from the database), so the external
metric's `avg` is the platform's number; the WPA's `average` algorithm divides it by the current
replicas and compares sessions *per pod* with the watermarks. The DPA expresses the same target
as an absolute value per pod. The idle colour is never autoscaled: it keeps its configured
replicas for smoke tests and instant rollback.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from vibecode_platform import telemetry

from ..config import StackConfig


def _number(value: float) -> str:
    """A Kubernetes quantity for a watermark: integers as such, fractions in milli-units."""
    return str(int(value)) if float(value).is_integer() else f"{round(value * 1000)}m"


def wpa_spec(cfg: StackConfig, deployment: str) -> dict[str, Any]:
    scaling = cfg.datadog.autoscaling
    return {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
        "algorithm": "average",
        "minReplicas": scaling.min_replicas,
        "maxReplicas": scaling.max_replicas,
        "tolerance": _number(scaling.tolerance),
        "scaleUpLimitFactor": str(scaling.scale_up_limit),
        "scaleDownLimitFactor": str(scaling.scale_down_limit),
        "upscaleForbiddenWindowSeconds": 60,
        "downscaleForbiddenWindowSeconds": 300,
        "downscaleDelayBelowWatermarkSeconds": 300,
        "tolerateZero": True,
        "metrics": [
            {
                "type": "External",
                "external": {
                    "metricName": telemetry.ACTIVE_SESSIONS,
                    "metricSelector": {
                        "matchLabels": {"env": cfg.environment, "service": "vibecode-api"}
                    },
                    "lowWatermark": _number(scaling.low_watermark),
                    "highWatermark": _number(scaling.high_watermark),
                },
            }
        ],
    }


def dpa_spec(cfg: StackConfig, deployment: str) -> dict[str, Any]:
    scaling = cfg.datadog.autoscaling
    query = f"avg:{telemetry.ACTIVE_SESSIONS}{{env:{cfg.environment},service:vibecode-api}}"
    return {
        "owner": "Local",
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
        "constraints": {"minReplicas": scaling.min_replicas, "maxReplicas": scaling.max_replicas},
        "applyPolicy": {
            "mode": "Apply",
            "scaleUp": {
                "rules": [{"type": "Percent", "value": scaling.scale_up_limit, "periodSeconds": 60}]
            },
            "scaleDown": {
                "rules": [
                    {"type": "Percent", "value": scaling.scale_down_limit, "periodSeconds": 300}
                ],
                "stabilizationWindowSeconds": 300,
            },
        },
        "objectives": [
            {
                "type": "CustomQuery",
                "customQuery": {
                    "request": {
                        "queries": [{"name": "a", "source": "Metrics", "metrics": {"query": query}}]
                    },
                    # Sessions per pod between the watermarks: aim for the high one.
                    "value": {
                        "type": "AbsoluteValue",
                        "absoluteValue": _number(scaling.high_watermark),
                    },
                    "window": "5m",
                },
            }
        ],
    }


KINDS: dict[str, tuple[str, str, Callable[[StackConfig, str], dict[str, Any]]]] = {
    "wpa": ("datadoghq.com/v1alpha1", "WatermarkPodAutoscaler", wpa_spec),
    "dpa": ("datadoghq.com/v1alpha2", "DatadogPodAutoscaler", dpa_spec),
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
        if mode != "none":
            api_version, kind, spec = KINDS[mode]
            k8s.apiextensions.CustomResource(
                f"vibecode-api-{mode}",
                api_version=api_version,
                kind=kind,
                metadata={"name": "vibecode-api", "namespace": namespace},
                spec=spec(cfg, deployment),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({"mode": mode, "target": deployment})

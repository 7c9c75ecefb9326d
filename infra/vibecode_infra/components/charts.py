"""Third-party Helm charts, pinned. Bump a version deliberately, in one place, with its notes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Chart:
    name: str
    version: str
    repo: str


INGRESS_NGINX = Chart("ingress-nginx", "4.12.1", "https://kubernetes.github.io/ingress-nginx")
CERT_MANAGER = Chart("cert-manager", "v1.17.2", "https://charts.jetstack.io")
AUTHELIA = Chart("authelia", "0.10.10", "https://charts.authelia.com")
CLOUDNATIVE_PG = Chart("cloudnative-pg", "0.23.2", "https://cloudnative-pg.github.io/charts")
DATADOG = Chart("datadog", "3.72.1", "https://helm.datadoghq.com")
"""Agent 7.57 / Cluster Agent 7.57: DaemonSet, APM, logs, DogStatsD, external metrics, WPA
informer (`clusterAgent.metricsProvider.wpaController`), workload autoscaling (3.69.2+)."""
WATERMARK_POD_AUTOSCALER = Chart("watermarkpodautoscaler", "v0.4.0", "https://helm.datadoghq.com")
"""The WPA controller and its CRD (datadoghq.com/v1alpha1 WatermarkPodAutoscaler)."""

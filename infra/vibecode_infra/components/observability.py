"""The Datadog agent: a DaemonSet on every node, the Cluster Agent, and the WPA controller.

- Agent (Helm, pinned): logs from every container, APM on the node's port 8126, DogStatsD on the
  node's UDP 8125 (the API sends to `status.hostIP`), kube-state-metrics core, events; the
  `env` and `team` tags on everything it reports, so node metrics join the platform's dashboards.
- Cluster Agent: the external metrics provider (what the autoscalers read), DatadogMetric CRDs,
  the WatermarkPodAutoscaler informer, and workload autoscaling (DatadogPodAutoscaler) when the
  stack chooses DPA.
- WPA controller (Helm, pinned) when the stack chooses WPA.
- Keys from secret config into one Secret; the site from config. On KIND the kubelet serves a
  self-signed certificate, so TLS verification to it is off there and only there.

Created only when `vibecode:datadog.enabled` is true (program.py).
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from .. import hardening
from ..config import StackConfig
from . import charts, network
from .edge import helm_release, namespace

DATADOG_NS = "datadog"
SECRET = "datadog-keys"  # noqa: S105 - the Secret's name, not a secret
DOGSTATSD_PORT = 8125
APM_PORT = 8126


class DatadogAgent(pulumi.ComponentResource):
    def __init__(
        self, name: str, cfg: StackConfig, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("vibecode:observability:DatadogAgent", name, None, opts)
        dd = cfg.datadog
        secrets = pulumi.Config("vibecode")
        # The agent needs host paths, host ports and extra capabilities: Pod Security baseline
        # cannot run it; the namespace is privileged and holds nothing but the agent.
        ns = namespace(DATADOG_NS, pulumi.ResourceOptions(parent=self), pss="privileged")
        child = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        keys = k8s.core.v1.Secret(
            SECRET,
            metadata={"name": SECRET, "namespace": DATADOG_NS},
            string_data={
                "api-key": secrets.require_secret("datadogApiKey"),
                "app-key": secrets.require_secret("datadogAppKey"),
            },
            opts=child,
        )
        wpa = dd.autoscaling.mode == "wpa"
        values = {
            "datadog": {
                "site": dd.site,
                "clusterName": dd.cluster_name,
                "apiKeyExistingSecret": SECRET,
                "appKeyExistingSecret": SECRET,
                "tags": [f"env:{cfg.environment}", "team:platform"],
                "kubelet": {"tlsVerify": not cfg.kind},
                "logs": {"enabled": True, "containerCollectAll": True},
                "apm": {"portEnabled": True, "port": APM_PORT},
                "dogstatsd": {
                    "port": DOGSTATSD_PORT,
                    "useHostPort": True,
                    "nonLocalTraffic": True,
                    "originDetection": True,
                    "tagCardinality": "orchestrator",
                },
                "collectEvents": True,
                "kubeStateMetricsCore": {"enabled": True},
                "autoscaling": {"workload": {"enabled": dd.autoscaling.mode == "dpa"}},
                "remoteConfiguration": {"enabled": dd.autoscaling.mode == "dpa"},
            },
            "clusterAgent": {
                "enabled": True,
                "replicas": 1 if cfg.kind else 2,
                "metricsProvider": {
                    "enabled": True,
                    "useDatadogMetrics": True,
                    "wpaController": wpa,
                },
                "resources": hardening.resources("100m", "500m", "128Mi", "512Mi"),
            },
            "agents": {
                "containers": {
                    "agent": {"resources": hardening.resources("100m", "1", "256Mi", "512Mi")}
                }
            },
        }
        self.release = helm_release(
            "datadog",
            charts.DATADOG,
            DATADOG_NS,
            values,
            pulumi.ResourceOptions(parent=self, depends_on=[ns, keys]),
        )
        if wpa:
            self.wpa_controller: k8s.helm.v3.Release | None = helm_release(
                "watermarkpodautoscaler",
                charts.WATERMARK_POD_AUTOSCALER,
                DATADOG_NS,
                {"resources": hardening.resources("50m", "200m", "64Mi", "256Mi")},
                child,
            )
        else:
            self.wpa_controller = None
        network.default_deny("datadog", DATADOG_NS, child)
        network.policy(
            "datadog-traffic",
            DATADOG_NS,
            ingress=[
                # DogStatsD and traces from every pod; the API server reads external metrics.
                {
                    "ports": [
                        {"protocol": "UDP", "port": DOGSTATSD_PORT},
                        {"protocol": "TCP", "port": APM_PORT},
                        {"protocol": "TCP", "port": 8443},
                        {"protocol": "TCP", "port": 5005},
                    ]
                },
            ],
            # Datadog's intake (443), the Kubernetes API and kubelets; never the metadata service.
            egress=[network.DNS_EGRESS, network.ANY_EXCEPT_METADATA],
            opts=child,
        )
        self.register_outputs({"site": dd.site})

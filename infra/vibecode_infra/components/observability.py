"""The Datadog agent: a DaemonSet on every node, and the Cluster Agent.

- Agent (Helm, pinned): logs from every container, APM on the node's port 8126, DogStatsD on the
  node's UDP 8125 (the API sends to `status.hostIP`), kube-state-metrics core, events; the
  `env` and `team` tags on everything it reports, so node metrics join the platform's dashboards.
- Cluster Agent: the external metrics provider with DatadogMetric queries (what the API's HPA
  reads; the chart's datadog-crds dependency installs the CRD), and its admission controller
  (standard tags into labelled pods), whose webhook port (8000) the policy admits.
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
from .addresses import DATADOG_NS
from .base import helm_release, namespace

SECRET = "datadog-keys"  # noqa: S105 - the Secret's name, not a secret
DOGSTATSD_PORT = 8125
APM_PORT = 8126
CLUSTER_AGENT_PORTS = (8443, 5005, 8000)
"""External metrics server (the API server reads it), the cluster agent's own API (node agents
and cluster checks), and the admission webhook (`clusterAgent.admissionController.port`)."""


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
            },
            "clusterAgent": {
                "enabled": True,
                "replicas": 1 if cfg.kind else 2,
                "metricsProvider": {
                    "enabled": True,
                    "useDatadogMetrics": True,
                },
                "admissionController": {"enabled": True, "port": 8000},
                "resources": hardening.resources("100m", "500m", "128Mi", "512Mi"),
            },
            "agents": {
                "containers": {
                    "agent": {"resources": hardening.resources("100m", "1", "256Mi", "512Mi")}
                }
            },
        }
        self.release = helm_release(
            charts.DATADOG,
            DATADOG_NS,
            values,
            pulumi.ResourceOptions(parent=self, depends_on=[ns, keys]),
        )
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
                        *({"protocol": "TCP", "port": p} for p in CLUSTER_AGENT_PORTS),
                    ]
                },
            ],
            # Datadog's intake (443), the Kubernetes API and kubelets; never the metadata service.
            egress=[network.DNS_EGRESS, network.ANY_EXCEPT_METADATA],
            opts=child,
        )
        self.register_outputs({"site": dd.site})

"""PostgreSQL with pgvector in the cluster, through CloudNativePG.

The operator comes from its Helm chart (pinned); a `Cluster` runs an image that ships pgvector
(CloudNativePG's standard images do), creates the `vibecode` database and the extension, and in
prod backs up to object storage on a schedule. Only the API's namespace may reach port 5432.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from .. import hardening
from ..config import StackConfig
from . import charts, network
from .edge import helm_release, namespace
from .observability import DATADOG_NS

OPERATOR_NS = "cnpg-system"
DB_NS = "vibecode-data"
CLUSTER = "vibecode-db"


class Data(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        api_namespace: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("vibecode:data:Data", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        op_ns = namespace(OPERATOR_NS, child)
        op_opts = pulumi.ResourceOptions(parent=self, depends_on=[op_ns])
        self.operator = helm_release(
            "cloudnative-pg",
            charts.CLOUDNATIVE_PG,
            OPERATOR_NS,
            {
                "resources": hardening.resources("50m", "500m", "128Mi", "512Mi"),
            },
            op_opts,
        )
        network.default_deny("cnpg-system", OPERATOR_NS, op_opts)
        network.policy(
            "cnpg-operator-traffic",
            OPERATOR_NS,
            ingress=[{"ports": [{"port": 9443}]}],
            egress=[network.DNS_EGRESS, network.ANY_EXCEPT_METADATA],
            opts=op_opts,
        )

        db_ns = namespace(DB_NS, child)
        db_opts = pulumi.ResourceOptions(parent=self, depends_on=[db_ns, self.operator])
        spec: dict[str, object] = {
            "instances": cfg.database.instances,
            "imageName": cfg.database.image,
            "storage": {
                "size": cfg.database.storage,
                **({"storageClass": cfg.storage_class} if cfg.storage_class else {}),
            },
            "bootstrap": {
                "initdb": {
                    "database": "vibecode",
                    "owner": "vibecode",
                    "postInitApplicationSQL": ["CREATE EXTENSION IF NOT EXISTS vector"],
                }
            },
            "resources": hardening.resources("250m", "2", "512Mi", "2Gi"),
            "monitoring": {"enablePodMonitor": False},
            "inheritedMetadata": {
                "labels": {
                    "tags.datadoghq.com/env": cfg.environment,
                    "tags.datadoghq.com/service": "vibecode-database",
                    "tags.datadoghq.com/version": cfg.database.image.rsplit(":", 1)[-1],
                    "component": "database",
                    "team": "platform",
                },
                # Datadog autodiscovery: CloudNativePG's exporter (no database credentials for
                # the agent), and the server's logs as PostgreSQL's.
                "annotations": {
                    "ad.datadoghq.com/postgres.checks": (
                        '{"openmetrics": {"init_config": {}, "instances": [{"openmetrics_endpoint":'
                        ' "http://%%host%%:9187/metrics", "namespace": "cnpg", "metrics": [".*"]}]}}'
                    ),
                    "ad.datadoghq.com/postgres.logs": (
                        '[{"source": "postgresql", "service": "vibecode-database"}]'
                    ),
                },
            },
        }
        if cfg.database.backups.enabled:
            spec["backup"] = {
                "barmanObjectStore": {
                    "destinationPath": cfg.database.backups.destination_path,
                    "s3Credentials": {
                        "accessKeyId": {"name": "vibecode-db-backup", "key": "ACCESS_KEY_ID"},
                        "secretAccessKey": {
                            "name": "vibecode-db-backup",
                            "key": "SECRET_ACCESS_KEY",
                        },
                    },
                },
                "retentionPolicy": cfg.database.backups.retention,
            }
        self.cluster = k8s.apiextensions.CustomResource(
            CLUSTER,
            api_version="postgresql.cnpg.io/v1",
            kind="Cluster",
            metadata={"name": CLUSTER, "namespace": DB_NS},
            spec=spec,
            opts=db_opts,
        )
        if cfg.database.backups.enabled:
            k8s.apiextensions.CustomResource(
                "vibecode-db-nightly",
                api_version="postgresql.cnpg.io/v1",
                kind="ScheduledBackup",
                metadata={"name": "vibecode-db-nightly", "namespace": DB_NS},
                spec={
                    "schedule": cfg.database.backups.schedule,
                    "cluster": {"name": CLUSTER},
                    "backupOwnerReference": "self",
                },
                opts=db_opts,
            )
        ns_opts = pulumi.ResourceOptions(parent=self, depends_on=[db_ns])
        network.default_deny("vibecode-data", DB_NS, ns_opts)
        network.policy(
            "vibecode-data-traffic",
            DB_NS,
            ingress=[
                {"from": [network.ns_selector(api_namespace)], "ports": [{"port": 5432}]},
                {
                    "from": [network.ns_selector(OPERATOR_NS)],
                    "ports": [{"port": 8000}, {"port": 5432}],
                },
                {"from": [{"podSelector": {}}]},  # replicas stream from the primary
                *(
                    [{"from": [network.ns_selector(DATADOG_NS)], "ports": [{"port": 9187}]}]
                    if cfg.datadog.enabled
                    else []
                ),
            ],
            egress=[network.DNS_EGRESS, {"to": [{"podSelector": {}}]}, network.ANY_EXCEPT_METADATA],
            opts=ns_opts,
        )
        # The app's connection string: CloudNativePG writes `<cluster>-app` with a `uri` key.
        self.app_secret = f"{CLUSTER}-app"
        self.register_outputs({"cluster": CLUSTER, "namespace": DB_NS})

"""PostgreSQL with pgvector in the cluster, through CloudNativePG.

The operator comes from its Helm chart (pinned); a `Cluster` runs an image that ships pgvector
and Barman Cloud (config.Database.image), creates the `vibecode` database and the extension, and
in prod backs up to S3-compatible object storage on a schedule. Only the API's namespace (and
the operator, and the instances among themselves) may reach port 5432.

Credentials: CloudNativePG writes the generated `<cluster>-app` Secret beside the Cluster, in
this namespace, and a pod cannot reference another namespace's Secret. So the owner's password
is ours (pulumi-random): CloudNativePG takes it from the basic-auth Secret named in
`bootstrap.initdb.secret` (here, beside the Cluster), and the API gets its connection string in a
Secret of its own namespace (the Api component), pointing at the `<cluster>-rw` Service.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .. import hardening
from ..config import StackConfig
from . import charts, network
from .addresses import API_NS, DATADOG_NS, DB_CLUSTER, DB_NS, DB_URI_HOST, OPERATOR_NS
from .base import helm_release, namespace

OWNER = "vibecode"
DATABASE = "vibecode"
OWNER_SECRET = f"{DB_CLUSTER}-owner"
BACKUP_SECRET = f"{DB_CLUSTER}-backup"


class Data(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        api_namespace: str = API_NS,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("vibecode:data:Data", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        op_ns = namespace(OPERATOR_NS, child)
        op_opts = pulumi.ResourceOptions(parent=self, depends_on=[op_ns])
        self.operator = helm_release(
            charts.CLOUDNATIVE_PG,
            OPERATOR_NS,
            {"resources": hardening.resources("50m", "500m", "128Mi", "512Mi")},
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
        ns_opts = pulumi.ResourceOptions(parent=self, depends_on=[db_ns])
        password = random.RandomPassword(
            "vibecode-db-owner-password", length=40, special=False, opts=child
        )
        owner = k8s.core.v1.Secret(
            OWNER_SECRET,
            metadata={"name": OWNER_SECRET, "namespace": DB_NS},
            type="kubernetes.io/basic-auth",
            string_data={"username": OWNER, "password": password.result},
            opts=ns_opts,
        )
        self.uri = password.result.apply(
            lambda pw: f"postgresql://{OWNER}:{pw}@{DB_URI_HOST}:5432/{DATABASE}"
        )
        """The API's connection string; the Api component puts it in a Secret of its own."""
        depends = [db_ns, self.operator, owner]
        spec: dict[str, object] = {
            "instances": cfg.database.instances,
            "imageName": cfg.database.image,
            "storage": {
                "size": cfg.database.storage,
                **({"storageClass": cfg.storage_class} if cfg.storage_class else {}),
            },
            "bootstrap": {
                "initdb": {
                    "database": DATABASE,
                    "owner": OWNER,
                    "secret": {"name": OWNER_SECRET},
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
        backups = cfg.database.backups
        if backups.enabled:
            keys = pulumi.Config("vibecode")
            depends.append(
                k8s.core.v1.Secret(
                    BACKUP_SECRET,
                    metadata={"name": BACKUP_SECRET, "namespace": DB_NS},
                    string_data={
                        "ACCESS_KEY_ID": keys.require_secret("backupAccessKeyId"),
                        "SECRET_ACCESS_KEY": keys.require_secret("backupSecretAccessKey"),
                    },
                    opts=ns_opts,
                )
            )
            store: dict[str, object] = {
                "destinationPath": backups.destination_path,
                "s3Credentials": {
                    "accessKeyId": {"name": BACKUP_SECRET, "key": "ACCESS_KEY_ID"},
                    "secretAccessKey": {"name": BACKUP_SECRET, "key": "SECRET_ACCESS_KEY"},
                },
            }
            if backups.endpoint_url:
                store["endpointURL"] = backups.endpoint_url
            spec["backup"] = {
                "barmanObjectStore": store,
                "retentionPolicy": backups.retention,
            }
        db_opts = pulumi.ResourceOptions(parent=self, depends_on=depends)
        self.cluster = k8s.apiextensions.CustomResource(
            DB_CLUSTER,
            api_version="postgresql.cnpg.io/v1",
            kind="Cluster",
            metadata={"name": DB_CLUSTER, "namespace": DB_NS},
            spec=spec,
            opts=db_opts,
        )
        if backups.enabled:
            k8s.apiextensions.CustomResource(
                "vibecode-db-nightly",
                api_version="postgresql.cnpg.io/v1",
                kind="ScheduledBackup",
                metadata={"name": "vibecode-db-nightly", "namespace": DB_NS},
                spec={
                    "schedule": backups.schedule,
                    "cluster": {"name": DB_CLUSTER},
                    "backupOwnerReference": "self",
                },
                opts=db_opts,
            )
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
        self.register_outputs({"cluster": DB_CLUSTER, "namespace": DB_NS})

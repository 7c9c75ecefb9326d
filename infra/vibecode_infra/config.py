"""Stack configuration, read once into typed, validated objects.

Every key lives under the `vibecode:` namespace of `Pulumi.<stack>.yaml`. A wrong value fails with
the key and what is allowed (`vibecode:api.activeColor: must be one of blue, green`). Secrets
(provider keys, Datadog keys) come from `pulumi config set --secret`; generated secrets
(Authelia's, the database password) come from pulumi-random.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from vibecode_core import __version__
from vibecode_core.tenancy import TierName

Color = Literal["blue", "green"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class Tls(_Model):
    issuer: Literal["selfsigned", "acme"] = "selfsigned"
    acme_email: str | None = Field(None, alias="acmeEmail")
    acme_server: str = Field("https://acme-v02.api.letsencrypt.org/directory", alias="acmeServer")
    hsts: bool = False

    @model_validator(mode="after")
    def _acme_needs_email(self) -> Tls:
        if self.issuer == "acme" and not self.acme_email:
            raise ValueError("tls.acmeEmail is required when tls.issuer is acme")
        return self


def _default_images() -> dict[Color, str]:
    return {"blue": f"vibecode/api:{__version__}", "green": f"vibecode/api:{__version__}"}


class Resources(_Model):
    """A container's requests and limits."""

    cpu_request: str = Field("250m", alias="cpuRequest")
    cpu_limit: str = Field("1", alias="cpuLimit")
    memory_request: str = Field("256Mi", alias="memoryRequest")
    memory_limit: str = Field("512Mi", alias="memoryLimit")


class Embedder(Resources):
    """The local MiniLM embedder, a sidecar of each API pod: its own memory budget (the model
    and onnxruntime under load need more than the API's 128 MiB target; docs/benchmarks.md)."""


class Api(Resources):
    """The API container's own requests and limits, its colours, and its embedder sidecar."""

    active_color: Color = Field("blue", alias="activeColor")
    images: dict[Color, str] = Field(default_factory=_default_images)
    replicas: int = Field(2, ge=1, le=50)
    embedder: Embedder = Field(default_factory=Embedder)
    version: str = __version__

    @field_validator("images")
    @classmethod
    def _both_colors(cls, value: dict[str, str]) -> dict[str, str]:
        missing = {"blue", "green"} - set(value)
        if missing:
            raise ValueError(f"api.images needs an image for {', '.join(sorted(missing))}")
        return value

    @property
    def idle_color(self) -> Color:
        return "green" if self.active_color == "blue" else "blue"


class Backups(_Model):
    """Barman Cloud to any S3-compatible store (`endpointURL` for MinIO, Ceph, R2, ...); the
    credentials come from secret config (`vibecode:backupAccessKeyId`,
    `vibecode:backupSecretAccessKey`) into a Secret beside the Cluster."""

    enabled: bool = False
    destination_path: str | None = Field(None, alias="destinationPath")
    endpoint_url: str | None = Field(None, alias="endpointURL", pattern=r"^https?://")
    schedule: str = "0 0 2 * * *"
    retention: str = "30d"

    @model_validator(mode="after")
    def _destination(self) -> Backups:
        if self.enabled and not self.destination_path:
            raise ValueError("database.backups.destinationPath is required when backups are on")
        return self


class Database(_Model):
    instances: int = Field(1, ge=1, le=9)
    storage: str = "10Gi"
    image: str = "ghcr.io/cloudnative-pg/postgresql:17.6-system-trixie"
    """A `MM.mm-TYPE-OS` rolling tag of cloudnative-pg/postgres-containers (the form its README
    recommends): `system` images are the `standard` ones (pgvector among their extensions) plus
    the Barman Cloud binaries the pinned operator's in-core `barmanObjectStore` backups run.
    The bare `17-bookworm` tags came from the discontinued pipeline on the Docker library image."""
    backups: Backups = Backups()


class Scanner(_Model):
    """clamd for upload scanning (the API's VIBE_CLAMD_URL). Memory per ClamAV's Docker guide
    (docs.clamav.net, "ClamAV in Docker"): the signature engine alone takes about 1.2 GiB and
    twice that while a daily update reloads it, so 3 GiB minimum, 4 GiB preferred."""

    enabled: bool = True
    image: str = "clamav/clamav-debian:1.4.5"
    """Cisco-Talos/clamav-docker, clamav/1.4/debian (Jenkinsfile: FULL_VERSION 1.4.5, image
    clamav-debian): the tag without `_base` has the signature databases built in."""
    cpu_request: str = Field("250m", alias="cpuRequest")
    cpu_limit: str = Field("1", alias="cpuLimit")
    memory_request: str = Field("3Gi", alias="memoryRequest")
    memory_limit: str = Field("4Gi", alias="memoryLimit")


SITES = (
    "datadoghq.com",
    "us3.datadoghq.com",
    "us5.datadoghq.com",
    "datadoghq.eu",
    "ap1.datadoghq.com",
    "ddog-gov.com",
)
Priority = Literal["P1", "P2", "P3", "P4"]


class Autoscaling(_Model):
    """The live colour's replicas follow `vibecode.api.active_user_sessions`: a
    HorizontalPodAutoscaler on a DatadogMetric, served by the Cluster Agent's external metrics
    provider (the pinned Datadog chart installs both the CRD and the provider; see charts.py).

    Defaults: one API pod comfortably proxies 50 console sessions (each is a WebSocket and a
    few API calls a minute), so the target is 50 sessions per pod; scale-ups may add half the
    pods a minute, scale-downs remove a fifth per five minutes after five calm minutes.
    """

    mode: Literal["hpa", "none"] = "hpa"
    min_replicas: int = Field(2, ge=1, le=100, alias="minReplicas")
    max_replicas: int = Field(10, ge=1, le=100, alias="maxReplicas")
    target_sessions_per_pod: float = Field(50, gt=0, alias="targetSessionsPerPod")
    scale_up_limit: int = Field(50, ge=1, le=1000, alias="scaleUpLimitPercent")
    scale_down_limit: int = Field(20, ge=1, le=100, alias="scaleDownLimitPercent")

    @model_validator(mode="after")
    def _bounds(self) -> Autoscaling:
        if self.min_replicas > self.max_replicas:
            raise ValueError("minReplicas must not exceed maxReplicas")
        return self


class Datadog(_Model):
    """Datadog agent, cluster agent, monitors, dashboards, SLOs and the API's autoscaler.

    Keys come from secret config (`vibecode:datadogApiKey`, `vibecode:datadogAppKey`).
    `enabled: false` deploys none of it; the API then keeps only Prometheus `/metrics`.
    """

    enabled: bool = False
    site: str = "datadoghq.com"
    cluster_name: str = Field("vibecode", alias="clusterName")
    notify: dict[Priority, list[str]] = Field(default_factory=dict)
    search_p95_seconds: float = Field(0.25, gt=0, lt=5, alias="searchP95Seconds")
    autoscaling: Autoscaling = Autoscaling()

    @field_validator("site")
    @classmethod
    def _site(cls, value: str) -> str:
        if value not in SITES:
            raise ValueError(f"must be one of {', '.join(SITES)}")
        return value

    @field_validator("notify")
    @classmethod
    def _handles(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for handles in value.values():
            for handle in handles:
                if not handle.startswith("@") or " " in handle:
                    raise ValueError(f"{handle!r} is not a Datadog @handle")
        return value


class AuthUser(_Model):
    """An Authelia user of the file backend. `passwordHash` is a hash Authelia verifies
    (`authelia crypto hash generate argon2`, or bcrypt), never a password."""

    username: str = Field(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._@-]+$")
    display_name: str = Field("", alias="displayName")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")
    groups: list[str] = []
    password_hash: str = Field(alias="passwordHash", pattern=r"^\$(argon2id|2[aby]|6|pbkdf2)")


class InitialAdmin(_Model):
    """The first user, made at deploy time: a random password, its bcrypt hash in Authelia's
    users file, the password itself a secret stack output (`pulumi stack output --show-secrets
    adminPassword`)."""

    username: str = Field("admin", min_length=1, max_length=256, pattern=r"^[A-Za-z0-9._@-]+$")
    email: str | None = None
    display_name: str = Field("VibeCode admin", alias="displayName")


class Auth(_Model):
    admin: InitialAdmin = InitialAdmin()
    users: list[AuthUser] = []
    policy: Literal["two_factor", "one_factor"] = "two_factor"
    """What the platform's hosts require. `one_factor` exists for scripted sign-ins on a
    throwaway KIND cluster (tests/kind); prod refuses it."""

    @model_validator(mode="after")
    def _unique(self) -> Auth:
        names = [self.admin.username, *(u.username for u in self.users)]
        if len(names) != len(set(names)):
            raise ValueError("auth: usernames must be unique (the admin's included)")
        if "authelia" in names:
            raise ValueError("auth: 'authelia' is the chart's template account, never a user")
        return self


class Network(_Model):
    """Where the ingress controller's pods get their addresses: the API honours Remote-*
    headers only from these (plus loopback) and only with the ingress's proxy secret. Unset:
    every private range, the secret then being what tells the ingress from any other pod."""

    pod_cidrs: list[str] = Field(default_factory=list, alias="podCidrs")

    @field_validator("pod_cidrs")
    @classmethod
    def _cidrs(cls, value: list[str]) -> list[str]:
        import ipaddress

        for cidr in value:
            ipaddress.ip_network(cidr)
        return value


class WorkspaceSpec(_Model):
    user: str = Field(min_length=1, max_length=256)
    workspace: str = Field(min_length=1, max_length=256)
    tier: TierName = TierName.free


class StackConfig(_Model):
    environment: Literal["dev", "prod"]
    domain: str = Field(min_length=3)
    kubernetes_version: str = Field("1.31", alias="kubernetesVersion")
    kind: bool = False
    tls: Tls = Tls()
    api: Api = Api()
    database: Database = Database()
    scanner: Scanner = Scanner()
    workspace_image: str = Field("vibecode/workspace:4.99.4", alias="workspaceImage")
    workspaces: list[WorkspaceSpec] = []
    users_file: str | None = Field(None, alias="usersFile")
    storage_class: str | None = Field(None, alias="storageClass")
    datadog: Datadog = Datadog()
    auth: Auth = Auth()
    network: Network = Network()

    @model_validator(mode="after")
    def _prod_two_factor(self) -> StackConfig:
        if self.environment == "prod" and self.auth.policy != "two_factor":
            raise ValueError("auth.policy must be two_factor in prod")
        return self

    @field_validator("kubernetes_version")
    @classmethod
    def _k8s(cls, value: str) -> str:
        major, _, minor = value.partition(".")
        if major != "1" or not minor.isdigit() or not 25 <= int(minor) <= 37:
            raise ValueError("kubernetesVersion must be 1.25-1.37")
        return value

    def all_workspaces(self, base: Path = Path(".")) -> list[WorkspaceSpec]:
        """Workspaces from stack config plus the users file (YAML list), without duplicates."""
        found = list(self.workspaces)
        if self.users_file:
            items = yaml.safe_load((base / self.users_file).read_text()) or []
            found += [WorkspaceSpec.model_validate(item) for item in items]
        unique: dict[tuple[str, str], WorkspaceSpec] = {}
        for spec in found:
            unique.setdefault((spec.user, spec.workspace), spec)
        return list(unique.values())

    def host(self, name: str) -> str:
        return f"{name}.{self.domain}"


class ConfigError(ValueError):
    """One line: the key and what is allowed."""


def parse(values: dict[str, Any]) -> StackConfig:
    try:
        return StackConfig.model_validate(values)
    except ValidationError as err:
        first = err.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"vibecode:{key}: {first['msg'].removeprefix('Value error, ')}") from None


KEYS = (
    "environment",
    "domain",
    "kubernetesVersion",
    "kind",
    "tls",
    "api",
    "database",
    "workspaceImage",
    "workspaces",
    "usersFile",
    "storageClass",
    "datadog",
    "auth",
    "network",
)


def from_pulumi() -> StackConfig:
    """The running stack's configuration (structured values are JSON in Pulumi config)."""
    import pulumi

    cfg = pulumi.Config("vibecode")
    values: dict[str, Any] = {}
    for key in KEYS:
        raw = cfg.get(key)
        if raw is None:
            continue
        structured = raw[:1] in ("{", "[") or raw in ("true", "false")
        values[key] = json.loads(raw) if structured else raw
    return parse(values)


def stack_file(stack: str, root: Path) -> dict[str, Any]:
    """The `vibecode:` keys of `Pulumi.<stack>.yaml`, without the namespace."""
    data = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text()) or {}
    return {
        k.split(":", 1)[1]: v
        for k, v in (data.get("config") or {}).items()
        if k.startswith("vibecode:")
    }

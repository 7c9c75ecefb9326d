"""Authelia (Helm, pinned) in front of everything: two-factor for the platform's hosts, file
users provisioned from stack config, local storage on a volume, generated secrets.

- Users: the initial admin gets a random password at deploy time; Authelia's users file holds
  its bcrypt hash (pulumi-random's `bcrypt_hash`, kept in state so it is stable across `up`s)
  and the password is the secret stack output `adminPassword`. More users come from
  `vibecode:auth.users` with hashes made by `authelia crypto hash generate`. The file is a
  Secret mounted read-only (`secret.additionalSecrets` → `/secrets/<secret>/`), so Authelia
  never writes its template users file (user `authelia`, password `authelia`); password reset
  and change are off, since they would write to it.
- Pod Security restricted: the chart renders a securityContext only from
  `pod.securityContext.pod` / `.container` (templates/deployment.yaml at 0.10.10), so both are
  given; /tmp is an emptyDir for the read-only root filesystem.
- Access control: `default_policy: deny`; the API's health bypasses; `app.<domain>` and every
  workspace host need two factors. Whose workspace it is, Authelia cannot know (workspaces are
  created at run time): the workspace ingresses ask the API (`/api/authz/workspace`), which
  asks Authelia who is signed in and compares that with the owner the Ingress names.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import yaml

from .. import hardening
from ..config import StackConfig
from . import charts, network
from .addresses import API_NS, AUTH_NS, AUTH_PORT, INGRESS_NS
from .base import helm_release, namespace

SECRETS = "authelia-secrets"
USERS_SECRET = "authelia-users"  # noqa: S105 - a Secret's name
USERS_FILE = "users_database.yml"
USERS_PATH = f"/secrets/{USERS_SECRET}/{USERS_FILE}"
ADMIN_GROUP = "vibecode-admins"
UID = 8000


def users_file(cfg: StackConfig, admin_hash: str) -> str:
    admin = cfg.auth.admin
    users: dict[str, Any] = {
        admin.username: {
            "disabled": False,
            "displayname": admin.display_name,
            "password": admin_hash,
            "email": admin.email or f"{admin.username}@{cfg.domain}",
            "groups": [ADMIN_GROUP],
        }
    }
    for user in cfg.auth.users:
        users[user.username] = {
            "disabled": False,
            "displayname": user.display_name or user.username,
            "password": user.password_hash,
            "email": user.email,
            "groups": list(user.groups),
        }
    return yaml.safe_dump({"users": users}, sort_keys=True)


def access_rules(cfg: StackConfig) -> list[dict[str, Any]]:
    return [
        {"domain": [cfg.host("app")], "resources": ["^/api/health.*$"], "policy": "bypass"},
        {"domain": [cfg.host("app"), f"*.{cfg.domain}"], "policy": cfg.auth.policy},
    ]


def values(cfg: StackConfig, issuer: str) -> dict[str, Any]:
    return {
        "pod": {
            "kind": "Deployment",
            "replicas": 1,
            "resources": hardening.resources("50m", "500m", "64Mi", "256Mi"),
            "securityContext": {
                "pod": {**hardening.pod_security(uid=UID)},
                "container": hardening.container_security(),
            },
            "extraVolumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
            "extraVolumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
        },
        "secret": {"existingSecret": SECRETS, "additionalSecrets": {USERS_SECRET: {}}},
        "ingress": {
            "enabled": True,
            "className": "nginx",
            "tls": {"enabled": True, "secret": "authelia-tls"},
            "annotations": {"cert-manager.io/cluster-issuer": issuer},
        },
        "configMap": {
            "theme": "auto",
            "session": {"cookies": [{"domain": cfg.domain, "subdomain": "auth"}]},
            "storage": {"local": {"enabled": True, "path": "/config/db.sqlite3"}},
            "notifier": {"filesystem": {"enabled": True, "filename": "/config/notification.txt"}},
            "authentication_backend": {
                "password_reset": {"disable": True},
                "password_change": {"disable": True},
                "file": {"enabled": True, "path": USERS_PATH, "watch": False},
            },
            "access_control": {"default_policy": "deny", "rules": access_rules(cfg)},
        },
        "persistence": {"enabled": True, "size": "1Gi"},
    }


class Authelia(pulumi.ComponentResource):
    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        issuer: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("vibecode:edge:Authelia", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns = namespace(AUTH_NS, child)
        after_ns = pulumi.ResourceOptions(parent=self, depends_on=[ns])
        generated = {
            key: random.RandomPassword(f"authelia-{key}", length=64, special=False, opts=child)
            for key in ("jwt", "session", "storage")
        }
        secret = k8s.core.v1.Secret(
            SECRETS,
            metadata={"name": SECRETS, "namespace": AUTH_NS},
            string_data={
                "identity_validation.reset_password.jwt.hmac.key": generated["jwt"].result,
                "session.encryption.key": generated["session"].result,
                "storage.encryption.key": generated["storage"].result,
            },
            opts=after_ns,
        )
        self.admin_password = random.RandomPassword(
            "authelia-admin-password", length=24, special=False, opts=child
        )
        users = k8s.core.v1.Secret(
            USERS_SECRET,
            metadata={"name": USERS_SECRET, "namespace": AUTH_NS},
            string_data={
                USERS_FILE: self.admin_password.bcrypt_hash.apply(lambda h: users_file(cfg, h))
            },
            opts=after_ns,
        )
        self.release = helm_release(
            charts.AUTHELIA,
            AUTH_NS,
            values(cfg, issuer),
            pulumi.ResourceOptions(parent=self, depends_on=[ns, secret, users]),
        )
        network.default_deny("authelia", AUTH_NS, after_ns)
        network.policy(
            "authelia-traffic",
            AUTH_NS,
            ingress=[
                # The ingress (sign-in pages and forward auth) and the API's owner check.
                {
                    "from": [network.ns_selector(INGRESS_NS), network.ns_selector(API_NS)],
                    "ports": [{"port": AUTH_PORT}],
                }
            ],
            egress=[network.DNS_EGRESS],
            opts=after_ns,
        )
        if cfg.tls.issuer == "acme":
            network.acme_solver("authelia", AUTH_NS, after_ns)
        self.host = cfg.host("auth")
        self.register_outputs({"host": self.host})

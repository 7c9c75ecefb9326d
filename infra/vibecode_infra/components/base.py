"""What every component builds with: a pinned Helm release under its fixed name, a namespace
with its Pod Security level, and the one Ingress shape."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from .charts import Chart


def helm_release(
    chart: Chart, namespace: str, values: dict[str, Any], opts: pulumi.ResourceOptions
) -> k8s.helm.v3.Release:
    """Installed as `chart.release`: `name=` stops pulumi-kubernetes from appending random
    hex, which would rename every object the chart names after its release."""
    return k8s.helm.v3.Release(
        chart.release,
        name=chart.release,
        chart=chart.name,
        version=chart.version,
        namespace=namespace,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=chart.repo),
        values=values,
        atomic=True,
        cleanup_on_fail=True,
        timeout=600,
        opts=opts,
    )


def namespace(
    name: str,
    opts: pulumi.ResourceOptions,
    pss: str = "restricted",
    labels: dict[str, str] | None = None,
) -> k8s.core.v1.Namespace:
    """A namespace of ours with its Pod Security level. Violations of `restricted` are audited
    and warned about everywhere except where privileged pods are the namespace's purpose."""
    report = "privileged" if pss == "privileged" else "restricted"
    return k8s.core.v1.Namespace(
        name,
        metadata={
            "name": name,
            "labels": {
                "app.kubernetes.io/part-of": "vibecode",
                **(labels or {}),
                "pod-security.kubernetes.io/enforce": pss,
                "pod-security.kubernetes.io/audit": report,
                "pod-security.kubernetes.io/warn": report,
            },
        },
        opts=opts,
    )


def ingress_spec(host: str, service: str, tls_secret: str) -> dict[str, Any]:
    """One host, all paths to one Service on port 80, TLS from cert-manager (the API's Ingress
    and every workspace's share this shape)."""
    return {
        "ingressClassName": "nginx",
        "tls": [{"hosts": [host], "secretName": tls_secret}],
        "rules": [
            {
                "host": host,
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": service, "port": {"number": 80}}},
                        }
                    ]
                },
            }
        ],
    }

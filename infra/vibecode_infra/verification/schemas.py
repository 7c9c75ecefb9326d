"""Validating manifests: the official Kubernetes schemas for the target version (strict:
unknown fields fail), and for custom resources the fields their CRDs require."""

from __future__ import annotations

from typing import Any

from .paths import get, ident

CRD_REQUIRED = {
    ("cert-manager.io/v1", "ClusterIssuer"): ["spec"],
    ("cert-manager.io/v1", "Certificate"): ["spec.secretName", "spec.issuerRef.name"],
    ("postgresql.cnpg.io/v1", "Cluster"): ["spec.instances", "spec.storage.size"],
    ("postgresql.cnpg.io/v1", "ScheduledBackup"): ["spec.schedule", "spec.cluster.name"],
    # From the CRD's schema (datadog-crds 1.7.2, datadoghq.com_datadogmetrics_v1.yaml).
    ("datadoghq.com/v1alpha1", "DatadogMetric"): ["spec.query"],
}


def _all(obj: Any, dotted: str) -> list[Any]:
    """Every value at `dotted`, where `name[]` walks each item of a list (an empty or missing
    list yields one None: a required list must have items)."""
    head, _, rest = dotted.partition(".")
    if head.endswith("[]"):
        items = get(obj, head[:-2])
        if not isinstance(items, list) or not items:
            return [None]
        return [v for item in items for v in (_all(item, rest) if rest else [item])]
    value = get(obj, head)
    return _all(value, rest) if rest and value is not None else [value]


def validate_schemas(manifests: list[dict[str, Any]], version: str) -> list[str]:
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError, ValidationError

    errors = []
    for m in manifests:
        key = (m["apiVersion"], m["kind"])
        if key in CRD_REQUIRED:
            errors += [
                f"{ident(m)}: missing {path}"
                for path in CRD_REQUIRED[key]
                if any(v in (None, "", []) for v in _all(m, path))
            ]
            continue
        try:
            kubernetes_validate.validate(m, version, strict=True)
        except ValidationError as err:
            errors.append(f"{ident(m)}: {err.message}")
        except SchemaNotFoundError:
            errors.append(
                f"{ident(m)}: no schema for {m['apiVersion']} {m['kind']} "
                f"in Kubernetes {version} (and not a known CRD)"
            )
    return errors

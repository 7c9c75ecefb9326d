"""Reading manifests and chart values: a dotted path into nested dicts, and how an object is
named in messages. One copy for every module of the chain."""

from __future__ import annotations

from typing import Any


def get(obj: Any, dotted: str, default: Any = None) -> Any:
    """`obj["a"]["b"]` for `"a.b"`, or `default` where any step is missing."""
    for part in dotted.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return default
        obj = obj[part]
    return obj


def ident(m: dict[str, Any]) -> str:
    """`Kind/namespace/name` (no namespace for cluster-scoped objects)."""
    meta = m.get("metadata", {})
    ns = meta.get("namespace")
    return f"{m['kind']}/{ns + '/' if ns else ''}{meta.get('name')}"

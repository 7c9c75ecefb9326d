"""The chain's report (`report.json`) and what it writes beside it: every manifest as YAML,
every Datadog resource as JSON."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .model import Release


@dataclass
class Report:
    stack: str
    workspaces: int = 0
    resources: int = 0
    manifests: int = 0
    releases: list[dict[str, Any]] = field(default_factory=list)
    schema_errors: list[str] = field(default_factory=list)
    policy_failures: list[str] = field(default_factory=list)
    policy_skipped: list[str] = field(default_factory=list)
    policy_ran: bool = False
    invariant_failures: list[str] = field(default_factory=list)
    connectivity: list[dict[str, Any]] = field(default_factory=list)
    datadog: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not (self.schema_errors or self.policy_failures or self.invariant_failures)

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def releases_of(recorded: list[dict[str, Any]]) -> list[Release]:
    return [
        Release(
            name=r.get("name"),
            resource=r["resourceName"],
            chart=str(r.get("chart", "")),
            version=str(r.get("version", "")),
            repo=str((r.get("repositoryOpts") or {}).get("repo", "")),
            namespace=str(r.get("namespace", "")),
            values=r.get("values") or {},
        )
        for r in recorded
    ]


def releases_from_report(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The report's releases back in the recorded form (to re-check a rendered stack)."""
    return [
        {
            "resourceName": e["resource"],
            "name": e["releaseName"],
            "chart": e["chart"],
            "version": e["version"],
            "repositoryOpts": {"repo": e["repo"]},
            "namespace": e["namespace"],
            "values": e["values"],
        }
        for e in entries
    ]


def release_report(recorded: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each release as Helm installs it: where from, where to, under which name (None when it
    would be generated), with the values we give it (secrets masked)."""
    return [
        {
            "resource": r.resource,
            "repo": r.repo,
            "chart": r.chart,
            "version": r.version,
            "namespace": r.namespace,
            "releaseName": r.name,
            "values": r.values,
        }
        for r in releases_of(recorded)
    ]


def write_manifests(manifests: list[dict[str, Any]], out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)  # a previous render's files must not be scanned as this one's
    out.mkdir(parents=True)
    for i, m in enumerate(manifests):
        meta = m["metadata"]
        name = f"{i:05d}-{m['kind'].lower()}-{meta.get('namespace', 'cluster')}-{meta['name']}"
        (out / f"{re.sub(r'[^A-Za-z0-9._-]', '_', name)}.yaml").write_text(
            yaml.safe_dump(m, sort_keys=False)
        )


def write_datadog(resources: list[dict[str, Any]], out: Path) -> None:
    """Monitors, dashboards and SLOs as JSON, one file each (secrets never reach them)."""
    if out.exists():
        shutil.rmtree(out)
    if not resources:
        return
    out.mkdir(parents=True)
    for r in resources:
        kind = r["resourceType"].rsplit(":", 1)[-1].lower()
        (out / f"{kind}-{r['resourceName']}.json").write_text(
            json.dumps(r, indent=2, sort_keys=True)
        )

"""Running the Pulumi program under Pulumi's own mock engine: every object it declares is
recorded (Kubernetes manifests with integers restored, Helm releases, Datadog resources), and
secret values are masked wherever they reach. The mock engine is process-global: one run per
process (`verify.render` runs the chain in a child)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

SECRET_SIG = "4dabf18193072939515e22adb298388d"  # noqa: S105 - a marker, not a secret
"""How Pulumi marks a secret value on the wire: {SECRET_SIG: ..., "value": ...}."""


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(v) for v in value]
    return "(secret)" if isinstance(value, str) else value


def _ints(value: Any) -> Any:
    """The mock engine hands integers over as floats (`replicas: 2.0`); secrets are unwrapped
    and masked, so a rendered manifest never carries one."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return _masked(_ints(value.get("value")))
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


def _scrub(value: Any, secrets: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    if isinstance(value, str) and any(s in value for s in secrets):
        return "(secret)"
    return value


MOCK_SECRETS = ("datadogApiKey", "datadogAppKey", "backupAccessKeyId", "backupSecretAccessKey")
"""Secret config a real stack sets with `pulumi config set --secret`; placeholders under mocks."""


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`extra` over `base`, nested dicts merged (how `--set-json` overrides stack config)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def stack_values(stack: str, root: Path, users: int, overrides: dict[str, Any]) -> dict[str, Any]:
    """The stack file's `vibecode:` values, overridden, plus N generated workspaces."""
    from .. import config

    values = merge(config.stack_file(stack, root), overrides)
    values["workspaces"] = list(values.get("workspaces") or []) + [
        {"user": f"user{i}", "workspace": f"ws{i}", "tier": "premium" if i % 5 == 0 else "free"}
        for i in range(users)
    ]
    return values


def run_program(
    stack: str, users: int, root: Path, overrides: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int, list[dict[str, Any]]]:
    import pulumi

    from .. import config

    recorded: list[tuple[str, str, dict[str, Any]]] = []
    generated: set[str] = {"mock-" + key for key in MOCK_SECRETS}
    """Secret values the mocks make up: Pulumi marks a RandomPassword's result secret, but the
    mock engine does not, so they are masked wherever they reach (a chart's values)."""

    class Recorder(pulumi.runtime.Mocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
            recorded.append((args.typ, args.name, dict(args.inputs)))
            outputs = dict(args.inputs)
            if args.typ == "datadog:index/monitor:Monitor":
                return str(len(recorded)), outputs  # Datadog monitor ids are integers
            if "apiVersion" in outputs:  # CustomResource.api_version resolves from outputs
                outputs["api_version"] = outputs["apiVersion"]
            if args.typ == "random:index/randomPassword:RandomPassword":
                outputs["result"] = f"mock-secret-{len(generated):04d}-" + "x" * 32
                outputs["bcryptHash"] = f"$2a$10$mock{len(generated):04d}" + "x" * 45
                generated.update((outputs["result"], outputs["bcryptHash"]))
            return f"{args.name}-id", outputs

        def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, None]:
            return {}, None

    values = stack_values(stack, root, users, overrides or {})
    pulumi.runtime.set_mocks(Recorder(), project="vibecode", stack=stack, preview=False)
    for key, value in values.items():
        pulumi.runtime.set_config(
            f"vibecode:{key}", value if isinstance(value, str) else json.dumps(value)
        )
    for key in MOCK_SECRETS:
        pulumi.runtime.set_config(f"vibecode:{key}", "mock-" + key)
    cfg = config.parse(values)

    from ..program import build

    @pulumi.runtime.test
    def program() -> None:
        build(root)

    cwd = Path.cwd()
    os.chdir(root)
    try:
        program()
    finally:
        os.chdir(cwd)
    manifests, releases, datadog = [], [], []
    for typ, name, inputs in recorded:
        clean = _scrub(_ints(inputs), generated)
        if typ == "kubernetes:helm.sh/v3:Release":
            releases.append({**clean, "resourceName": name})
        elif typ.startswith("kubernetes:") and "apiVersion" in inputs:
            manifests.append(clean)
        elif typ.startswith("datadog:"):
            datadog.append({**clean, "resourceType": typ, "resourceName": name})
    return manifests, releases, len(cfg.all_workspaces(root)), datadog

"""The policy scan: checkov's Kubernetes checks over the rendered manifests, offline. Skips
are only inline (`checkov.io/skipN` annotations), each with its reason."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CHECKOV_ENV = "VIBE_CHECKOV"


@dataclass
class PolicyResult:
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    ran: bool = False
    """False when checkov is not installed (`make checkov`)."""


def checkov_bin() -> str | None:
    explicit = os.environ.get(CHECKOV_ENV)
    if explicit:
        return explicit
    local = ROOT / ".tools/checkov/bin/checkov"
    return str(local) if local.exists() else shutil.which("checkov")


def scan(directory: Path) -> PolicyResult:
    exe = checkov_bin()
    if exe is None:
        return PolicyResult()
    env = {
        **os.environ,
        "BC_SKIP_MAPPING": "TRUE",
        "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
        "LOG_LEVEL": "ERROR",
    }
    done = subprocess.run(
        [
            exe,
            "-d",
            str(directory),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--compact",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    try:
        parsed = json.loads(done.stdout or "{}")
    except ValueError:
        detail = (
            f"checkov did not answer JSON (exit {done.returncode}): {done.stderr.strip()[-300:]}"
        )
        return PolicyResult([detail], [], True)
    reports = parsed if isinstance(parsed, list) else [parsed]
    failures, skipped = [], []
    for report in reports:
        results = report.get("results", {}) if isinstance(report, dict) else {}
        for check in results.get("failed_checks", []):
            failures.append(f"{check['check_id']} {check.get('resource')}: {check['check_name']}")
        for check in results.get("skipped_checks", []):
            reason = (check.get("check_result") or {}).get("suppress_comment", "")
            skipped.append(f"{check['check_id']} {check.get('resource')}: {reason}")
    return PolicyResult(failures, skipped, True)

"""Exit codes and the one-line errors of `vibe` (a traceback only with `--debug`)."""

from __future__ import annotations

OK = 0
FAILED = 1
"""A check failed: render found problems, a smoke test failed, a Pulumi operation failed."""
USAGE = 2
"""Bad arguments (click's own code)."""
MISSING_TOOL = 3
"""docker, kind, kubectl or the Pulumi CLI is not installed."""
ROLLED_BACK = 4
"""`vibe deploy` failed and restored the previous state by itself."""

INSTALL_HINTS = {
    "docker": "install Docker Engine: https://docs.docker.com/engine/install/",
    "kind": "install kind >= 0.27: `go install sigs.k8s.io/kind@latest` or "
    "https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    "kubectl": "install kubectl: https://kubernetes.io/docs/tasks/tools/",
    "pulumi": "install the Pulumi CLI: `curl -fsSL https://get.pulumi.com | sh` "
    "(https://www.pulumi.com/docs/install/)",
    "helm": "install Helm 3: https://helm.sh/docs/intro/install/",
}


class CliError(Exception):
    """What went wrong, in one line, and the exit code it maps to."""

    def __init__(self, message: str, code: int = FAILED) -> None:
        super().__init__(message)
        self.code = code


def require_tool(name: str) -> str:
    """The tool's path, or a CliError naming it and how to install it."""
    import shutil

    found = shutil.which(name)
    if found is None:
        raise CliError(f"{name} is not installed: {INSTALL_HINTS[name]}", MISSING_TOOL)
    return found

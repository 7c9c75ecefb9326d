"""The `vibe` CLI (`vibecode_platform.cli`); the shared core is the `vibecode_core` distribution."""

from vibecode_core import __version__

__all__ = ["__version__"]

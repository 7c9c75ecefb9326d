"""The `vibe` CLI (`vibecode_platform.cli`); the shared core is the `vibecode_core` distribution."""

__version__ = "0.1.0"

"""VibeCode's pure core, shared by the API and the Pulumi program: the tenancy model (tiers,
quotas, Kubernetes names) and the catalogue of metric names. No dependencies, no I/O."""

__version__ = "0.1.0"
"""The platform's release version: the one every package, image tag default and telemetry tag
reports (tests/test_versions.py keeps each pyproject.toml at it)."""

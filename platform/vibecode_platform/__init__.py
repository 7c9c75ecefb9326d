"""VibeCode platform: the tenancy model shared by the API and the infra program, and the CLI."""

__version__ = "0.1.0"

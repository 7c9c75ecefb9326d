"""VibeCode API: RAG, chat with provider fallback, quotas, workspaces and console sessions."""

from vibecode_core import __version__

__all__ = ["__version__"]

"""VibeCode API: RAG, chat with provider fallback, quotas, workspaces and console sessions."""

__version__ = "0.1.0"

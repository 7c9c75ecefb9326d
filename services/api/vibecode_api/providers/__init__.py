"""LLM providers: one OpenAI-compatible client per provider behind a failover chain."""

from .breaker import Breaker
from .gateway import Gateway, ProvidersUnavailable, UpstreamRejected

__all__ = ["Breaker", "Gateway", "ProvidersUnavailable", "UpstreamRejected"]

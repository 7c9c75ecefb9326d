"""LLM providers: one OpenAI-compatible client per provider behind a failover chain."""

from ..errors import GatewayError, ProvidersUnavailable, StreamBroken, UpstreamRejected
from .breaker import Breaker
from .gateway import Gateway

__all__ = [
    "Breaker",
    "Gateway",
    "GatewayError",
    "ProvidersUnavailable",
    "StreamBroken",
    "UpstreamRejected",
]

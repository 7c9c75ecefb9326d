"""Telemetry names: the one list the API emits and the Datadog monitors, dashboards, SLOs and
autoscalers read. Metrics are `vibecode.{component}.{metric}`; every series carries the
standard tags `env, service, version, team, component` (ARCHITECTURE.md).

Durations are in seconds, memory in bytes. Pure Python: the API and infra both import it.
"""

from __future__ import annotations

TEAM = "platform"
API_RSS_LIMIT_BYTES = 128 * 2**20
"""The seeds' "Memory limit < 128MB" for the API process, read as a container memory limit
(Docker's `128m`, Kubernetes' `128Mi`: binary). The P2 monitor and the load tests' threshold
both use this one number."""
STANDARD_TAGS = ("env", "service", "version", "team", "component")

API = "vibecode.api."
REQUESTS = API + "requests"
"""count, tags route, method, status_code"""
ERRORS = API + "errors"
"""count of 5xx responses, tags route, method, status_code"""
RESPONSE_TIME = API + "response_time"
"""distribution (s), tags route, method"""
PROVIDER_REQUESTS = API + "provider.requests"
"""count, tags provider, outcome (success, failure, skipped)"""
PROVIDER_FAILURES = API + "provider.failures"
"""count, tags provider, outcome"""
PROVIDER_LATENCY = API + "provider.latency"
"""distribution (s) of upstream time per attempt, tag provider"""
PROVIDER_FAILOVERS = API + "provider.failovers"
"""count of requests moved on to a provider, tag provider"""
PROVIDERS_AVAILABLE = API + "providers.available"
"""gauge: providers configured and not cooling down (0 in offline mode)"""
RAG_SEARCH_TIME = API + "rag.search.duration"
"""distribution (s) per search"""
RAG_INGEST_TIME = API + "rag.ingest.duration"
"""distribution (s) per accepted upload"""
RAG_INGEST_CHUNKS = API + "rag.ingest.chunks"
"""count of chunks added"""
QUOTA_REFUSALS = API + "quota.refusals"
"""count, tags quota, tier"""
RATE_LIMIT_REFUSALS = API + "rate_limit.refusals"
"""count, tag tier"""
ACTIVE_SESSIONS = API + "active_user_sessions"
"""gauge: console sessions loading, starting or ready, platform-wide (the autoscaler's signal)"""
MEMORY_RSS = API + "memory.rss"
"""gauge (bytes) per API process"""

ALL = (
    REQUESTS,
    ERRORS,
    RESPONSE_TIME,
    PROVIDER_REQUESTS,
    PROVIDER_FAILURES,
    PROVIDER_LATENCY,
    PROVIDER_FAILOVERS,
    PROVIDERS_AVAILABLE,
    RAG_SEARCH_TIME,
    RAG_INGEST_TIME,
    RAG_INGEST_CHUNKS,
    QUOTA_REFUSALS,
    RATE_LIMIT_REFUSALS,
    ACTIVE_SESSIONS,
    MEMORY_RSS,
)

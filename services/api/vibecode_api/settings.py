"""Configuration: every setting is an environment variable, validated once at start.

One `Settings` object is built from the environment (12-factor). A bad value is reported as a
single line naming the variable, the value and what is allowed, and start-up exits with status 2
(see `load_settings`). Field descriptions double as the "allowed" text and as README reference.
"""

from __future__ import annotations

import ipaddress
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from vibecode_core import __version__

PROVIDERS: tuple[str, ...] = ("megallm", "openrouter", "agentrouter", "routeway")
"""The provider chain the product knows, in the seeds' fallback order."""

DEFAULT_BASE_URLS: dict[str, str] = {
    "megallm": "https://ai.megallm.io/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "agentrouter": "https://agentrouter.org/v1",
    "routeway": "https://api.routeway.ai/v1",
}


class LogLevel(StrEnum):
    debug = "debug"
    info = "info"
    warn = "warn"
    warning = "warning"
    error = "error"


class Provisioner(StrEnum):
    local = "local"
    kubernetes = "kubernetes"


class EmbeddingsMode(StrEnum):
    local = "local"
    provider = "provider"


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _split_csv(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def _key(name: str) -> Any:
    """A provider API key: read from `<NAME>_API_KEY`, as the seeds name them."""
    env = f"{name.upper()}_API_KEY"
    return Field(
        default=None,
        validation_alias=AliasChoices(env),
        description=f"API key for {name}; unset skips the provider",
    )


def _base_url(name: str) -> Any:
    env = f"VIBE_{name.upper()}_BASE_URL"
    return Field(
        default=DEFAULT_BASE_URLS[name],
        validation_alias=AliasChoices(env),
        description=f"{name}'s OpenAI-compatible base URL (http or https URL)",
    )


class Settings(BaseSettings):
    """All `VIBE_*` settings of the API (and the CLI's `serve`)."""

    model_config = SettingsConfigDict(
        env_prefix="VIBE_", case_sensitive=False, extra="ignore", populate_by_name=True
    )

    # -- server ---------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="address to bind")
    port: int = Field(8000, ge=1, le=65535, description="TCP port, 1-65535")
    workers: int = Field(1, ge=1, le=64, description="server worker processes, 1-64")
    listen_fd: int | None = Field(
        None,
        ge=0,
        description="serve on this inherited listening socket instead of binding "
        "VIBE_HOST:VIBE_PORT (harnesses hand one over, so no other process can take the port)",
    )
    data_dir: Path = Field(
        Path(".vibe"), description="folder for the embedded database and local workspaces"
    )
    shutdown_timeout: int = Field(
        30, ge=1, le=600, description="seconds in-flight requests get to finish on stop, 1-600"
    )

    # -- database -------------------------------------------------------------------------
    database_url: SecretStr | None = Field(
        None,
        description="postgresql:// URL; unset starts an embedded PostgreSQL in VIBE_DATA_DIR",
    )
    db_pool_size: int = Field(10, ge=1, le=200, description="connections per process, 1-200")
    db_timeout: int = Field(
        3000,
        ge=50,
        le=120_000,
        description="ms to wait for a database connection before answering 503, 50-120000",
    )

    # -- seed table (cli-production-readiness.md) -------------------------------------------
    provider: str = Field("megallm", description=f"primary provider, one of {', '.join(PROVIDERS)}")
    fallback_providers: Annotated[list[str], NoDecode] = Field(
        ["openrouter", "agentrouter", "routeway"],
        description=f"comma-separated fallback providers from {', '.join(PROVIDERS)}",
    )
    model: str = Field(
        "qwen/qwen3-next-80b-a3b-instruct", min_length=1, description="default chat model"
    )
    timeout: int = Field(
        60_000, ge=100, le=600_000, description="per-attempt provider timeout in ms, 100-600000"
    )
    max_retries: int = Field(3, ge=0, le=10, description="retries per provider, 0-10")
    provider_failure_threshold: int = Field(
        3, ge=1, le=100, description="consecutive failures that put a provider in cooldown, 1-100"
    )
    provider_cooldown: float = Field(
        10.0, gt=0, le=3600, description="seconds a failing provider is skipped, > 0"
    )
    dry_run: bool = Field(False, description="true blocks every write with error dry_run")
    audit: bool = Field(True, description="false turns the audit log off")
    log_level: LogLevel = Field(
        LogLevel.info, description="one of debug, info, warn, warning, error"
    )

    # -- identity ----------------------------------------------------------------------------
    trusted_proxies: Annotated[list[Network], NoDecode] = Field(
        [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128")],
        description="comma-separated CIDRs whose Remote-* headers are honoured",
    )
    proxy_secret: SecretStr | None = Field(
        None,
        min_length=16,
        description="when set, Remote-* headers count only on requests that also carry it in "
        "X-Vibe-Proxy-Secret (the ingress adds it; loopback peers are exempt), 16+ characters",
    )
    authz_url: AnyHttpUrl | None = Field(
        None,
        description="Authelia's auth-request endpoint, asked by /api/authz/workspace (the "
        "workspace ingresses' owner check); unset answers that route 503",
    )
    dev_user: str | None = Field(
        None, description="local user for header-less requests from trusted peers (dev only)"
    )
    samples: bool = Field(
        True,
        description="with VIBE_DEV_USER: fill a `demo` workspace with the sample library on the "
        "first start of this data directory",
    )
    premium_groups: Annotated[list[str], NoDecode] = Field(
        ["vibecode-premium"], description="comma-separated groups that grant the premium tier"
    )
    admin_groups: Annotated[list[str], NoDecode] = Field(
        ["vibecode-admins"], description="comma-separated groups that grant admin"
    )

    # -- console sessions ------------------------------------------------------------------------
    provisioner: Provisioner = Field(
        Provisioner.local,
        description="where sessions run: local (code-server processes) or kubernetes",
    )
    code_server_bin: str = Field(
        "code-server", min_length=1, description="code-server executable for local sessions"
    )
    session_idle_timeout: int = Field(
        3600, ge=1, description="seconds without activity before a session is stopped, >= 1"
    )
    session_start_timeout: int = Field(
        60, ge=1, le=3600, description="seconds a session may take to become ready, 1-3600"
    )
    session_reap_interval: float = Field(
        30.0, gt=0, le=3600, description="seconds between idle-session sweeps, > 0"
    )
    workspace_domain: str = Field(
        "vibecode.local", min_length=1, description="domain of workspace hosts (kubernetes)"
    )

    # -- embeddings ---------------------------------------------------------------------------
    embeddings: EmbeddingsMode = Field(EmbeddingsMode.local, description="local or provider")
    embedder_url: AnyHttpUrl | None = Field(
        None,
        description="local embeddings from this embedder process (python -m "
        "vibecode_api.rag.embed_server; a sidecar in Kubernetes); unset: in this process",
    )
    embedder_process: bool = Field(
        True,
        description="python -m vibecode_api starts its own embedder process for local "
        "embeddings when VIBE_EMBEDDER_URL is unset (keeps the API's RSS small)",
    )
    embedding_model: str = Field(
        "text-embedding-3-small", min_length=1, description="model for provider embeddings"
    )
    embedding_dims: int = Field(
        1536,
        ge=1,
        le=16000,
        description="dimensions of VIBE_EMBEDDING_MODEL's vectors (1536: text-embedding-3-small), "
        "1-16000",
    )
    embedder_threads: int | None = Field(
        None,
        ge=1,
        le=64,
        description="ONNX runs the local embedder runs side by side, one thread each, 1-64 "
        "(unset: the CPUs available, at most 4; the Kubernetes sidecar gets its CPU limit)",
    )
    model_cache: Path | None = Field(
        None,
        description="folder for the local embedder's int8 graph, built on first use (unset: "
        "~/.cache/vibecode; unwritable: a temporary folder)",
    )

    search_threshold: float | None = Field(
        None,
        ge=0,
        le=1,
        description="minimum cosine similarity of a search result, 0-1 (unset: 0.25 for the "
        "local embedder, 0.7 for provider embeddings)",
    )
    search_common_word_rows: int = Field(
        10_000,
        ge=0,
        description="full-text search leaves out query words found in more chunks than this "
        "(PostgreSQL's statistics; they select nothing and cost the most); 0: never",
    )
    context_tokens: int = Field(
        3000, ge=100, le=100_000, description="token budget of retrieved context in chat"
    )
    embed_retry_interval: float = Field(
        30.0, gt=0, le=3600, description="seconds between retries of pending embeddings"
    )

    # -- upload scanning ----------------------------------------------------------------------
    clamd_url: str | None = Field(
        None,
        pattern=r"^(tcp://[^\s/:]+:\d{1,5}|unix:///\S+|/\S+)$",
        description="scan every upload with this clamd before storing it: tcp://host:3310, "
        "unix:///run/clamav/clamd.ctl or a socket path (unset: uploads are not scanned)",
    )
    clamd_fail_open: bool = Field(
        False,
        description="when clamd cannot be reached, store uploads unscanned instead of answering "
        "503 scanner_unavailable (health says so)",
    )
    clamd_timeout: int = Field(
        30_000, ge=100, le=600_000, description="ms for one scan, 100-600000"
    )

    # -- health -----------------------------------------------------------------------------
    memory_warn_mb: int = Field(
        512, ge=16, description="RSS in MiB above which health reports degraded, >= 16"
    )

    # -- telemetry: Datadog's own variable names ------------------------------------------------
    dogstatsd: bool = Field(True, description="false turns DogStatsD metrics (vibecode.api.*) off")
    dd_agent_host: str = Field(
        "127.0.0.1",
        validation_alias=AliasChoices("DD_AGENT_HOST"),
        description="host of the Datadog agent's DogStatsD and trace intake",
    )
    dd_dogstatsd_port: int = Field(
        8125,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("DD_DOGSTATSD_PORT"),
        description="DogStatsD UDP port, 1-65535",
    )
    dd_env: str = Field(
        "dev", validation_alias=AliasChoices("DD_ENV"), description="the env tag (dev, prod)"
    )
    dd_service: str = Field(
        "vibecode-api", validation_alias=AliasChoices("DD_SERVICE"), description="the service tag"
    )
    dd_version: str = Field(
        __version__, validation_alias=AliasChoices("DD_VERSION"), description="the version tag"
    )
    dd_trace_enabled: bool = Field(
        False,
        validation_alias=AliasChoices("DD_TRACE_ENABLED"),
        description="true turns ddtrace APM on (traces to DD_AGENT_HOST:8126)",
    )

    # -- providers: keys and base URLs ---------------------------------------------------------
    megallm_api_key: SecretStr | None = _key("megallm")
    openrouter_api_key: SecretStr | None = _key("openrouter")
    agentrouter_api_key: SecretStr | None = _key("agentrouter")
    routeway_api_key: SecretStr | None = _key("routeway")
    megallm_base_url: str = _base_url("megallm")
    openrouter_base_url: str = _base_url("openrouter")
    agentrouter_base_url: str = _base_url("agentrouter")
    routeway_base_url: str = _base_url("routeway")

    @field_validator("fallback_providers", "premium_groups", "admin_groups", mode="before")
    @classmethod
    def _csv(cls, value: Any) -> Any:
        return _split_csv(value)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _cidrs(cls, value: Any) -> Any:
        parts = _split_csv(value)
        if isinstance(parts, list):
            return [
                ipaddress.ip_network(p, strict=False) if isinstance(p, str) else p for p in parts
            ]
        return parts

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in PROVIDERS:
            raise ValueError("unknown provider")
        return value

    @field_validator("fallback_providers")
    @classmethod
    def _known_providers(cls, value: list[str]) -> list[str]:
        value = [v.lower() for v in value]
        unknown = [v for v in value if v not in PROVIDERS]
        if unknown:
            raise ValueError(f"unknown provider {unknown[0]!r}")
        return value

    @field_validator(
        "megallm_base_url", "openrouter_base_url", "agentrouter_base_url", "routeway_base_url"
    )
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("not an http(s) URL")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _pg_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("postgresql://", "postgres://")
        ):
            raise ValueError("not a postgresql:// URL")
        return value

    # -- derived ------------------------------------------------------------------------------
    @property
    def chain(self) -> list[str]:
        """Providers in the order they are tried, each once."""
        return list(dict.fromkeys([self.provider, *self.fallback_providers]))

    def api_key(self, provider: str) -> str | None:
        secret: SecretStr | None = getattr(self, f"{provider}_api_key")
        return secret.get_secret_value() if secret else None

    def base_url(self, provider: str) -> str:
        return str(getattr(self, f"{provider}_base_url"))

    def secret_values(self) -> list[str]:
        """Every configured secret, so that logs can mask them wherever they appear."""
        values = [self.api_key(p) for p in PROVIDERS]
        if self.proxy_secret is not None:
            values.append(self.proxy_secret.get_secret_value())
        if self.database_url is not None:
            from urllib.parse import urlsplit

            password = urlsplit(self.database_url.get_secret_value()).password
            values.append(password)
        return [v for v in values if v]


def env_name(field: str) -> str:
    """The environment variable a field is read from."""
    info = Settings.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"VIBE_{field.upper()}"


def _default(field: str) -> str:
    info = Settings.model_fields[field]
    value = info.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, StrEnum):
        return value.value
    return str(value)


REFERENCE_BEGIN = "<!-- settings:begin (generated by `make docs` from vibecode_api.settings) -->"
REFERENCE_END = "<!-- settings:end -->"


def reference() -> str:
    """The configuration table of docs/configuration.md, from the fields themselves."""
    rows = ["| variable | default | what it is, and what is allowed |", "| --- | --- | --- |"]
    for field, info in Settings.model_fields.items():
        description = (info.description or "").replace("|", "\\|")
        rows.append(f"| `{env_name(field)}` | `{_default(field)}` | {description} |")
    return "\n".join([REFERENCE_BEGIN, *rows, REFERENCE_END])


def describe_error(err: ValidationError) -> str:
    """One line: the first invalid variable, its value and what it allows."""
    first = err.errors()[0]
    loc = first["loc"]
    name = str(loc[0]) if loc else ""
    by_env = {env_name(f).lower(): f for f in Settings.model_fields}
    field = name if name in Settings.model_fields else by_env.get(name.lower(), "")
    if field:
        var = env_name(field)
        allowed = Settings.model_fields[field].description or ""
    else:
        var, allowed = name, ""
    value = first.get("input")
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    secret = field.endswith("api_key") or field == "database_url"
    shown = "***" if secret else repr(value)
    reason = str(first["msg"]).removeprefix("Value error, ")
    return f"invalid configuration: {var}={shown}: {reason}; allowed: {allowed}"


def load_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, or exit 2 with one line naming what is wrong."""
    try:
        return Settings(**overrides)
    except ValidationError as err:
        print(describe_error(err), file=sys.stderr)
        raise SystemExit(2) from None

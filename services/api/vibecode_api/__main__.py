"""`python -m vibecode_api`: validate settings, hold the embedded database, serve with granian.

granian was chosen by measurement (docs/benchmarks.md; FIELD-NOTES: about twice uvicorn's
throughput on a trivial Litestar route here). The main process validates the environment first —
a bad value exits 2 with one line — and, with no `VIBE_DATABASE_URL`, starts the embedded
PostgreSQL so that it outlives worker restarts and is stopped exactly once, when we exit.
"""

from __future__ import annotations

from . import logs, samples
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
    filling = None
    try:
        if embedded is not None:
            # Workers adopt the same server (one per data folder, never two).
            embedded.start()
        url = f"http://{settings.host}:{settings.port}"
        log.info("serving", url=url, console=url + "/", workers=settings.workers)
        if settings.dev_user and settings.samples:
            wildcard = settings.host in ("0.0.0.0", "::")  # noqa: S104 - compared, not bound
            local = "127.0.0.1" if wildcard else settings.host
            filling = samples.populate_on_first_start(
                f"http://{local}:{settings.port}", settings.data_dir
            )
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
        if filling is not None and filling.poll() is None:
            filling.terminate()
        if embedded is not None:
            embedded.stop()


def main() -> None:
    serve()


if __name__ == "__main__":
    main()

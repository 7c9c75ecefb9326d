"""`python -m vibecode_api`: validate settings, hold the embedded database, serve (`serving`).

The main process validates the environment first —
a bad value exits 2 with one line — and, with no `VIBE_DATABASE_URL`, starts the embedded
PostgreSQL so that it outlives worker restarts and is stopped exactly once, when we exit.
"""

from __future__ import annotations

import os
import subprocess
import sys

from . import children, logs, samples, serving
from .db.embedded import EmbeddedPostgres
from .settings import EmbeddingsMode, Settings, load_settings

APP_FACTORY = "vibecode_api.app:create_app_from_env"


def serve(target: str = APP_FACTORY) -> None:
    """Validate settings, hold the embedded database if any, and serve `target` (a factory)."""
    settings = load_settings()
    logs.configure(settings.log_level.value, settings.secret_values())
    log = logs.get_logger("vibecode_api")

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    embedded = EmbeddedPostgres(settings.data_dir) if settings.database_url is None else None
    filling = None
    embedder = _start_embedder(settings)
    try:
        if embedded is not None:
            # Workers adopt the same server (one per data folder, never two).
            embedded.start()
        if embedder is not None:
            embedder.wait_ready()
            os.environ["VIBE_EMBEDDER_URL"] = embedder.url  # the workers' settings read it
            log.info("embedder_started", url=embedder.url, pid=embedder.proc.pid)
        port = (
            settings.port
            if settings.listen_fd is None
            else children.socket_port(settings.listen_fd)
        )
        url = f"http://{settings.host}:{port}"
        log.info("serving", url=url, console=url + "/", workers=settings.workers)
        if settings.dev_user and settings.samples:
            wildcard = settings.host in ("0.0.0.0", "::")  # noqa: S104 - compared, not bound
            local = "127.0.0.1" if wildcard else settings.host
            filling = samples.populate_on_first_start(f"http://{local}:{port}", settings.data_dir)
        serving.run(
            target,
            host=settings.host,
            port=settings.port,
            fd=settings.listen_fd,
            workers=settings.workers,
            level=settings.log_level.value,
            graceful_seconds=settings.shutdown_timeout,
        )
    finally:
        if filling is not None and filling.poll() is None:
            filling.terminate()
        if embedder is not None:
            embedder.stop()
        if embedded is not None:
            embedded.stop()


class EmbedderProcess:
    """`python -m vibecode_api.rag.embed_server` on a loopback socket we bind and hand over
    (`children.listening_socket`), for our workers."""

    def __init__(self) -> None:
        with children.listening_socket() as sock:
            self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
            fd = sock.fileno()
            argv = [sys.executable, "-m", "vibecode_api.rag.embed_server", "--fd", str(fd)]
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, pass_fds=(fd,))

    def wait_ready(self) -> None:
        """Until the model answers (it loads before the server accepts connections)."""
        children.wait_until_up(f"{self.url}/healthz", self.proc)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def _start_embedder(settings: Settings) -> EmbedderProcess | None:
    local = settings.embeddings == EmbeddingsMode.local
    if not local or settings.embedder_url is not None or not settings.embedder_process:
        return None
    return EmbedderProcess()


def main() -> None:
    serve()


if __name__ == "__main__":
    main()

"""PostgreSQL access: the embedded server, the connection pool and the schema migrations."""

from .pool import Database

__all__ = ["Database"]

"""The web console served at `/`: server-rendered pages and fragments (Jinja + HTMX).

Reads are rendered here from the same queries the API uses; everything that changes something
(create, delete, upload, search, chat, start/stop a session) goes from the browser to `/api/*`,
so validation, quotas, the rate limit, audit and error wording are the API's own, once.
"""

from __future__ import annotations

from .pages import STATIC_DIR, TEMPLATE_DIR, handlers, static_router, template_config

__all__ = ["STATIC_DIR", "TEMPLATE_DIR", "handlers", "static_router", "template_config"]

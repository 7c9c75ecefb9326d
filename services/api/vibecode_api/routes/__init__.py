"""HTTP route handlers, one module per concern of API.md; `dependencies` holds what they share."""

-- Core schema: pgvector, and the audit log every write endpoint records into.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE audit_events (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL,
    action      text        NOT NULL,
    target      text        NOT NULL DEFAULT '',
    outcome     text        NOT NULL,
    request_id  text        NOT NULL DEFAULT '',
    detail      jsonb       NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_events_actor_at ON audit_events (actor, at DESC);
CREATE INDEX audit_events_at ON audit_events (at DESC);

-- Tenancy: workspaces, hourly API-call windows, console sessions, and the files whose bytes and
-- chunk counts the storage and vector quotas are measured by.
-- depends: 0001_core

CREATE TABLE workspaces (
    id          text        PRIMARY KEY,
    user_id     text        NOT NULL,
    name        text        NOT NULL,
    namespace   text        NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);
CREATE INDEX workspaces_user ON workspaces (user_id, created_at);

-- UNLOGGED: a counter updated on every API call must not wait for a WAL flush (~0.3 ms here);
-- after a database crash the current hour's counts restart from zero, which only errs in the
-- caller's favour for the rest of that hour.
CREATE UNLOGGED TABLE api_calls (
    user_id       text        NOT NULL,
    window_start  timestamptz NOT NULL,
    count         integer     NOT NULL,
    PRIMARY KEY (user_id, window_start)
);

CREATE TABLE sessions (
    workspace_id  text        PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id       text        NOT NULL,
    namespace     text        NOT NULL,
    state         text        NOT NULL CHECK (state IN ('loading', 'starting', 'ready', 'error', 'stopped')),
    provisioner   text        NOT NULL,
    url           text,
    error         text,
    stop_reason   text,
    handle        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    started_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    last_activity timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sessions_user_active ON sessions (user_id) WHERE state IN ('loading', 'starting', 'ready');

CREATE TABLE files (
    id            text        PRIMARY KEY,
    workspace_id  text        NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id       text        NOT NULL,
    path          text        NOT NULL,
    bytes         bigint      NOT NULL,
    sha256        text        NOT NULL,
    chunk_count   integer     NOT NULL DEFAULT 0,
    status        text        NOT NULL DEFAULT 'indexed' CHECK (status IN ('pending', 'indexed', 'failed')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (workspace_id, path)
);
CREATE INDEX files_user ON files (user_id);

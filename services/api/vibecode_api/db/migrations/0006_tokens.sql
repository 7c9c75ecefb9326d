-- Tokens (shared/API.md "Tokens"): account and workspace-scoped bearer tokens, stored as the
-- SHA-256 of the secret; the users the auth proxy has shown us, whose tier and groups a token
-- acts with; and the token an audited request came with.
-- depends: 0005_halfvec_index

CREATE TABLE users (
    user_id   text        PRIMARY KEY,
    groups    text[]      NOT NULL DEFAULT '{}',
    email     text        NOT NULL DEFAULT '',
    name      text        NOT NULL DEFAULT '',
    seen_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
    id            text        PRIMARY KEY,
    user_id       text        NOT NULL,
    name          text        NOT NULL,
    workspace_id  text        REFERENCES workspaces (id) ON DELETE CASCADE,
    secret_sha256 bytea       NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id, created_at);

ALTER TABLE audit_events ADD COLUMN token_id text NOT NULL DEFAULT '';

-- RAG: chunks with their embeddings, the embedding cache, and the model a workspace is indexed with.
-- depends: 0003_quota_usage

ALTER TABLE workspaces
    ADD COLUMN embedding_model text,
    ADD COLUMN embedding_dims  integer;

ALTER TABLE files ADD COLUMN error text, ADD COLUMN attempts integer NOT NULL DEFAULT 0;

-- One table for every embedder: `embedding` has no fixed dimension, and each supported dimension
-- gets its own partial HNSW index over a cast (queries use the same expression and filter).
CREATE TABLE chunks (
    id            bigserial   PRIMARY KEY,
    file_id       text        NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    workspace_id  text        NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    user_id       text        NOT NULL,
    ordinal       integer     NOT NULL,
    start_line    integer     NOT NULL,
    end_line      integer     NOT NULL,
    tokens        integer     NOT NULL,
    sha256        text        NOT NULL,
    text          text        NOT NULL,
    dims          integer     NOT NULL,
    embedding     vector,
    tsv           tsvector    GENERATED ALWAYS AS (to_tsvector('english', text)) STORED
);
CREATE INDEX chunks_file ON chunks (file_id, ordinal);
CREATE INDEX chunks_workspace ON chunks (workspace_id);
CREATE INDEX chunks_pending ON chunks (file_id) WHERE embedding IS NULL;
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);
CREATE INDEX chunks_hnsw_384 ON chunks USING hnsw ((embedding::vector(384)) vector_cosine_ops)
    WHERE dims = 384;
CREATE INDEX chunks_hnsw_1536 ON chunks USING hnsw ((embedding::vector(1536)) vector_cosine_ops)
    WHERE dims = 1536;

-- Identical text is never embedded twice by the same model.
CREATE TABLE embedding_cache (
    model      text        NOT NULL,
    sha256     text        NOT NULL,
    embedding  vector      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, sha256)
);

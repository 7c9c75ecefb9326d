-- HNSW over half-precision copies of the vectors (pgvector >= 0.7): the graph walk reads half the
-- bytes (100k MiniLM chunks: 113 MB instead of 197 MB, so it stays within shared_buffers beside
-- the table). Only the order comes from it: scores are computed from the stored full-precision
-- vectors. ef_construction 128 (pgvector's default is 64) builds a better graph for the same
-- search cost. Measured on the bench's layout (111k clustered chunks in three workspaces, 100k
-- searched, ef_search 100, top 10 of 40 as the API asks):
--   vector,  ef_construction 64:  recall@10 0.979, query p50 2.51 ms, 742 inserts/s
--   halfvec, ef_construction 64:  recall@10 0.977, query p50 2.02 ms, 868 inserts/s
--   halfvec, ef_construction 128: recall@10 0.988, query p50 1.98 ms, 797 inserts/s
-- Building takes ~25 s per 100k chunks with the graph in memory (hence maintenance_work_mem for
-- this transaction; 66 s without), and the API is not ready meanwhile. A large database can be given the new
-- indexes beforehand, without locking writes (README, "Upgrading"): then this only drops the old.
-- depends: 0004_rag

SET LOCAL maintenance_work_mem = '512MB';
CREATE INDEX IF NOT EXISTS chunks_hnsw_384_half ON chunks
    USING hnsw ((embedding::halfvec(384)) halfvec_cosine_ops) WITH (ef_construction = 128)
    WHERE dims = 384;
CREATE INDEX IF NOT EXISTS chunks_hnsw_1536_half ON chunks
    USING hnsw ((embedding::halfvec(1536)) halfvec_cosine_ops) WITH (ef_construction = 128)
    WHERE dims = 1536;
DROP INDEX IF EXISTS chunks_hnsw_384;
DROP INDEX IF EXISTS chunks_hnsw_1536;

"""Retrieval-augmented answers: chunking, embedding, storage, hybrid search and chat context."""

"""Tests of vibecode_api.rag."""

"""Tests of vibecode_api.db."""

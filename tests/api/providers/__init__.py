"""Tests of vibecode_api.providers."""

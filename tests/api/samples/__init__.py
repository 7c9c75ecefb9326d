"""Tests of vibecode_api.samples."""

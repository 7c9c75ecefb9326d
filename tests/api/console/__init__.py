"""Tests of vibecode_api.console."""

"""Tests of vibecode_api.provisioners."""

"""`pulumi up` entry point: everything lives in the vibecode_infra package."""

from vibecode_infra.program import build

build()

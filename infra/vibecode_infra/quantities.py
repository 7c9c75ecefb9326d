"""Kubernetes resource quantities as numbers, for the few sums the program and its checks make
(a workspace's quota plus cert-manager's solver). Only the suffixes the platform writes."""

from __future__ import annotations

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def millicores(cpu: str) -> int:
    """`"250m"` → 250, `"2"` → 2000."""
    return int(cpu[:-1]) if cpu.endswith("m") else round(float(cpu) * 1000)


def bytes_of(memory: str) -> int:
    """`"64Mi"` → 67108864; a bare number is bytes."""
    unit = memory[-2:]
    return int(float(memory[:-2]) * _BINARY[unit]) if unit in _BINARY else int(memory)

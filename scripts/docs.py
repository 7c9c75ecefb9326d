"""Regenerate the generated parts of docs/ (`make docs`): the configuration table, from the
settings model. `--check` exits 1 when a generated part is stale (the tests run it too)."""

from __future__ import annotations

import sys
from pathlib import Path

from vibecode_api.settings import REFERENCE_BEGIN, REFERENCE_END, reference

CONFIGURATION = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def rendered(text: str) -> str:
    start = text.index(REFERENCE_BEGIN)
    end = text.index(REFERENCE_END) + len(REFERENCE_END)
    return text[:start] + reference() + text[end:]


def main(argv: list[str]) -> int:
    text = CONFIGURATION.read_text()
    fresh = rendered(text)
    if "--check" in argv:
        if fresh != text:
            print(f"{CONFIGURATION} is stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    CONFIGURATION.write_text(fresh)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

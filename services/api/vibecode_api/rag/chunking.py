"""Line-aware chunks bounded by the embedder's own tokenizer, with overlap.

Defaults: at most 120 tokens a chunk (MiniLM sees 128 with its two special tokens, so nothing is
truncated away), and about 24 tokens (20 %) carried over from the end of one chunk into the next
so that a sentence or a function split at a boundary is whole in at least one chunk. Chunks end on
line boundaries; a single line longer than the bound is split at token boundaries. Every chunk
knows its 1-based `startLine`/`endLine` and the sha256 of its text, which is what incremental
re-indexing compares.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .embedder import Tokens

CHUNK_TOKENS = 120
OVERLAP_TOKENS = 24


@dataclass(frozen=True)
class Chunk:
    ordinal: int
    text: str
    start_line: int
    end_line: int
    tokens: int
    sha256: str


@dataclass(frozen=True)
class _Piece:
    line: int
    text: str
    tokens: int


def _pieces(text: str, tokens: Tokens, limit: int) -> list[_Piece]:
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()  # a final newline ends the last line; it does not start another
    counts = tokens.count(lines)
    out: list[_Piece] = []
    for number, (line, count) in enumerate(zip(lines, counts, strict=True), start=1):
        if count <= limit:
            out.append(_Piece(number, line, count))
            continue
        offsets = tokens.offsets(line)
        for start in range(0, len(offsets), limit):
            window = offsets[start : start + limit]
            end = offsets[start + limit][0] if start + limit < len(offsets) else len(line)
            out.append(_Piece(number, line[window[0][0] : end], len(window)))
    return out


def chunk_text(
    text: str, tokens: Tokens, limit: int = CHUNK_TOKENS, overlap: int = OVERLAP_TOKENS
) -> list[Chunk]:
    pieces = _pieces(text, tokens, limit)
    chunks: list[Chunk] = []
    current: list[_Piece] = []
    size = 0

    def emit() -> None:
        body = "\n".join(p.text for p in current)
        if body.strip():
            chunks.append(
                Chunk(
                    len(chunks),
                    body,
                    current[0].line,
                    current[-1].line,
                    size,
                    hashlib.sha256(body.encode()).hexdigest(),
                )
            )

    for piece in pieces:
        if current and size + piece.tokens > limit:
            emit()
            carried: list[_Piece] = []
            carried_size = 0
            for prev in reversed(current[1:]):
                if carried_size + prev.tokens > overlap:
                    break
                carried.insert(0, prev)
                carried_size += prev.tokens
            if carried_size + piece.tokens > limit:
                carried, carried_size = [], 0
            current, size = carried, carried_size
        current.append(piece)
        size += piece.tokens
    if current:
        emit()
    return chunks

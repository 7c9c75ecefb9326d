"""Line-aware chunks bounded by the embedder's own tokenizer, with overlap.

Defaults: at most 120 tokens a chunk (MiniLM sees 128 with its two special tokens, so nothing is
truncated away), and about 24 tokens (20 %) carried over from the end of one chunk into the next
so that a sentence or a function split at a boundary is whole in at least one chunk. Chunks end on
line boundaries; a single line longer than the bound is split at token boundaries. Every chunk
knows its 1-based `startLine`/`endLine` and the sha256 of its text, which is what incremental
re-indexing compares.

Boundaries are content-defined (as in rsync or FastCDC): past a minimum size, a chunk ends after
a line whose hash picks it, and only the token bound forces an end elsewhere. Boundaries therefore
depend on nearby lines, not on everything before them, so editing one line changes one or two
chunks instead of every chunk after it — which is what makes re-embedding only changed chunks pay.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .embedder import Tokens

CHUNK_TOKENS = 120
OVERLAP_TOKENS = 24
MIN_TOKENS = 40
TARGET_TOKENS = 80


def _cut_here(piece: _Piece, modulus: int) -> bool:
    digest = hashlib.blake2b(piece.text.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % modulus == 0


def _modulus(pieces: list[_Piece]) -> int:
    """How rarely a line may end a chunk, from the document's typical line length, rounded to a
    power of two so that small edits do not change it."""
    sized = [p.tokens for p in pieces if p.tokens] or [1]
    per_line = max(1, sum(sized) // len(sized))
    lines_wanted = max(2, (TARGET_TOKENS - MIN_TOKENS) // per_line)
    return 1 << (lines_wanted.bit_length() - 1)


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
    modulus = _modulus(pieces)
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

    def restart(following: int) -> None:
        """Begin the next chunk with the overlap carried from the end of this one."""
        nonlocal current, size
        carried: list[_Piece] = []
        carried_size = 0
        for prev in reversed(current[1:]):
            if carried_size + prev.tokens > overlap:
                break
            carried.insert(0, prev)
            carried_size += prev.tokens
        if carried_size + following > limit:
            carried, carried_size = [], 0
        current, size = carried, carried_size

    for index, piece in enumerate(pieces):
        if current and size + piece.tokens > limit:
            emit()
            restart(piece.tokens)
        current.append(piece)
        size += piece.tokens
        nxt = pieces[index + 1].tokens if index + 1 < len(pieces) else 0
        if size >= MIN_TOKENS and _cut_here(piece, modulus) and index + 1 < len(pieces):
            emit()
            restart(nxt)
    if current:
        emit()
    return chunks

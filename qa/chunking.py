"""Paragraph chunks from newspaper text: rejoin broken lines, keep headings apart, size the chunks.

Newspaper columns break lines mid-sentence, and some files put a blank line after
every short line, so blank lines carry no meaning in plain text: a line joins
the next one unless it ends a sentence, is a heading or byline, or is a caption.
Over-long paragraphs are split at sentence boundaries; fragments are merged into
their neighbour. Each chunk keeps where each of its pieces sits in the article,
so any position in a chunk maps back to an article offset.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from dataclasses import dataclass, field

from qa.corpus import Article
from qa.text import ends_sentence, sentence_spans
from qa.types import Chunk

MAX_CHARS = 300
MIN_CHARS = 40
HEADING_MAX_WIDTH = 80  # display columns: a CJK character is two

_BODY_PUNCT = re.compile(r"[，。；！？,;!?]|[：:].")
_CAPTION = re.compile(r"(\s摄|供图）?|供图\))$")
_LIST_ITEM = re.compile(r"^([-*+]|\d+[.)、])\s")
# Bylines name the reporter or author: a line of their own, kept as text so "记者是谁" can be answered.
_BYLINE = re.compile(r"^(本报记者|本报通讯员|特约记者|记者|通讯员|□|■|◎|文[／/]|作者[：:])\s*[^\s，。；：:,;][^，。；：:,;]{0,11}$")




@dataclass
class _Piece:
    """Text with its segment map; the unit that gets joined, split and merged."""

    text: str = ""
    segments: list[tuple[int, int]] = field(default_factory=list)
    paragraph: int = 0
    heading: str = ""

    def append(self, text: str, article_pos: int) -> None:
        self.segments.append((len(self.text), article_pos))
        self.text += text

    def extend(self, other: "_Piece", separator: str = "") -> None:
        """Append another piece; the separator maps to the article just after this piece."""
        if separator:
            self.append(separator, self.end_offset())
        for (pos, article_pos), nxt in zip(other.segments, other.segments[1:] + [(len(other.text), None)]):
            self.append(other.text[pos : nxt[0]], article_pos)

    def slice(self, start: int, end: int) -> "_Piece":
        piece = _Piece(paragraph=self.paragraph, heading=self.heading)
        bounds = self.segments + [(len(self.text), None)]
        for (pos, article_pos), (nxt, _) in zip(bounds, bounds[1:]):
            lo, hi = max(pos, start), min(nxt, end)
            if lo < hi:
                piece.append(self.text[lo:hi], article_pos + lo - pos)
        return piece

    def end_offset(self) -> int:
        pos, article_pos = self.segments[-1]
        return article_pos + len(self.text) - pos


def _lines(text: str):
    """Yield (stripped line, article offset of its first character) for non-blank lines."""
    offset = 0
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped:
            yield stripped, offset + raw.index(stripped[0])
        offset += len(raw) + 1


def _width(line: str) -> int:
    """Display width: full-width characters count two, so digits do not skew column widths."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def _heading_limit(lines: list[str]) -> float:
    """Headings are clearly narrower than the column, whose width the median line tells."""
    return min(HEADING_MAX_WIDTH, 0.75 * statistics.median(map(_width, lines))) if lines else 0


def _is_heading(line: str, limit: float, markdown: bool) -> bool:
    if markdown and line.startswith("#"):
        return True
    return (
        _width(line) <= limit
        and not ends_sentence(line)
        and not _BODY_PUNCT.search(line)
        and line[-1] not in "）)"
    )


def _blocks(article: Article):
    """Yield ("heading", text), ("byline", _Piece) and ("body", _Piece) blocks of the article in order."""
    lines = list(_lines(article.text))
    limit = _heading_limit([line for line, _ in lines])
    current = _Piece()
    for line, offset in lines:
        if _BYLINE.match(line):
            if current.text:
                yield "body", current
                current = _Piece()
            byline = _Piece()
            byline.append(line, offset)
            yield "byline", byline
            continue
        standalone = _CAPTION.search(line) or (article.markdown and _LIST_ITEM.match(line))
        if _is_heading(line, limit, article.markdown) and not standalone:
            if current.text:
                yield "body", current
                current = _Piece()
            yield "heading", line.lstrip("#").strip()
            continue
        if standalone and current.text:
            yield "body", current
            current = _Piece()
        current.append(line, offset)
        if standalone or ends_sentence(line) or line[-1] in "：:）)":
            yield "body", current
            current = _Piece()
    if current.text:
        yield "body", current


def _split_long(piece: _Piece, max_chars: int) -> list[_Piece]:
    """Split a paragraph longer than max_chars at sentence ends (or clause marks, or hard)."""
    if len(piece.text) <= max_chars:
        return [piece]
    cuts = [end for _, end in sentence_spans(piece.text)]
    bounds, start = [], 0
    for end in cuts + [len(piece.text)]:
        while end - start > max_chars:
            window = piece.text[start : start + max_chars]
            clause = max(window.rfind(mark) for mark in "，,；;、")
            cut = start + (clause + 1 if clause > max_chars // 3 else max_chars)
            if bounds and bounds[-1][1] < cut and cut - bounds[-1][0] <= max_chars:
                bounds[-1] = (bounds[-1][0], cut)
            else:
                bounds.append((start, cut))
            start = cut
        if end <= start:
            continue
        if bounds and bounds[-1][1] == start and end - bounds[-1][0] <= max_chars:
            bounds[-1] = (bounds[-1][0], end)
        else:
            bounds.append((start, end))
        start = end
    return [piece.slice(s, e) for s, e in bounds]


def _merge_fragments(pieces: list[_Piece], min_chars: int, max_chars: int) -> list[_Piece]:
    """Merge pieces shorter than min_chars into the next piece of their section, else the previous."""
    merged: list[_Piece] = []
    pending: _Piece | None = None
    for piece in pieces:
        if pending is not None:
            if pending.heading == piece.heading and len(pending.text) + len(piece.text) < max_chars:
                pending.extend(piece, "\n")
                piece = pending
            else:
                merged.append(pending)
            pending = None
        if len(piece.text) < min_chars:
            pending = piece
        else:
            merged.append(piece)
    if pending is not None:
        last = merged[-1] if merged else None
        if last and last.heading == pending.heading and len(last.text) + len(pending.text) < max_chars:
            last.extend(pending, "\n")
        else:
            merged.append(pending)
    return merged


def chunk_article(article: Article, max_chars: int = MAX_CHARS, min_chars: int = MIN_CHARS) -> list[Chunk]:
    """Split an article into paragraph chunks with article offsets and section headings."""
    pieces, headings, last_was_heading = [], [], False
    number = 0
    for kind, block in _blocks(article):
        if kind == "heading":
            headings = headings + [block] if last_was_heading else [block]
            last_was_heading = True
            continue
        if kind == "byline" and not last_was_heading:
            headings = [block.text]  # a byline after body text starts the next author's piece
        last_was_heading = False
        if kind == "body":
            number += 1
        # A byline is not a paragraph of its own: it shares the number of the paragraph it opens.
        block.paragraph, block.heading = number + (kind == "byline"), " ".join(headings)
        pieces.extend(_split_long(block, max_chars))
    return [
        Chunk(
            article_id=article.id,
            paragraph=piece.paragraph,
            start=piece.segments[0][1],
            end=piece.end_offset(),
            text=piece.text,
            heading=piece.heading,
            segments=piece.segments,
        )
        for piece in _merge_fragments(pieces, min_chars, max_chars)
    ]

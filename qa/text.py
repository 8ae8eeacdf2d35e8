"""Text utilities for Chinese: width folding, character classes and sentence splitting.

Everything here keeps string length unchanged, so positions found in folded text
are valid in the original text and answers can always be cut from the original.
"""

from __future__ import annotations

import re

import numpy as np

# Full-width ASCII variants (！ to ～) map one-to-one onto ASCII; the ideographic
# space becomes a plain space. Length-preserving, unlike NFKC.
_FOLD = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FOLD[0x3000] = 0x20

SENTENCE_END = "。！？!?；;…"
CLOSERS = "”’」』）)》】\"'"
CLAUSE_END = SENTENCE_END + "，,、：:"
PUNCTUATION = set(
    "-:_*^/\\~`+=，。：？！“”；’‘《》……·、「」（）－～『』()[]【】<>〈〉,.;?!\"'…—　 \t\n"
)

_CJK_RANGES = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))
_CJK = re.compile("[" + "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _CJK_RANGES) + "]")
# A newline also ends a sentence: chunks join merged paragraphs with one.
_SENTENCE = re.compile(rf"[^{SENTENCE_END}\n]*(?:[{SENTENCE_END}]+[{re.escape(CLOSERS)}]*|\n|$)")


def fold(text: str) -> str:
    """Fold full-width letters, digits and punctuation to ASCII, keeping the length."""
    return text.translate(_FOLD)


def is_cjk(char: str) -> bool:
    """True for a CJK ideograph."""
    return bool(_CJK.match(char))


def is_punct(char: str) -> bool:
    """True for Chinese or ASCII punctuation and whitespace."""
    return char in PUNCTUATION


def code_points(text: str) -> np.ndarray:
    """The text's code points (above the Basic Multilingual Plane as 0xFFFF), for CharClass."""
    return np.minimum(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32), 0xFFFF)


class CharClass:
    """A set of characters, tested against every character of a text in one table lookup:
    ``DIGIT.flags(text)`` instead of ``[c in DIGITS for c in text]``, which is slow in Python."""

    def __init__(self, chars="", table: np.ndarray | None = None):
        self.table = np.zeros(0x10000, bool) if table is None else table
        self.table[[ord(c) for c in chars if ord(c) < 0xFFFF]] = True

    @classmethod
    def where(cls, test) -> "CharClass":
        """The class of Basic Multilingual Plane characters for which test(char) holds."""
        return cls(table=np.fromiter((test(chr(i)) for i in range(0x10000)), bool, count=0x10000))

    def __or__(self, other: "CharClass") -> "CharClass":
        return CharClass(table=self.table | other.table)

    def flags(self, text: str) -> np.ndarray:
        """One boolean per character of text: is it in the class?"""
        return self.table[code_points(text)]


PUNCT_CLASS = CharClass(PUNCTUATION)
CJK_CLASS = CharClass("".join(chr(c) for lo, hi in _CJK_RANGES for c in range(lo, hi + 1)))
DIGIT_CLASS = CharClass.where(str.isdigit)  # every Unicode digit, as str.isdigit


def ends_sentence(line: str) -> bool:
    """True when a line ends a sentence (a closing quote after the stop counts)."""
    stripped = line.rstrip().rstrip(CLOSERS)
    return bool(stripped) and stripped[-1] in SENTENCE_END


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Split text into sentences at 。！？； (and ASCII twins), returning (start, end) spans.

    A closing quote or bracket right after the stop stays with its sentence.
    Leading whitespace is not part of a sentence; empty sentences are dropped.
    """
    spans = []
    for match in _SENTENCE.finditer(text):
        start, end = match.span()
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if start < end:
            spans.append((start, end))
    return spans


def sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The span of the sentence holding position ``start``, stretched to ``end`` when a span runs
    past it; (start, end) itself when no sentence holds it."""
    s, e = next(((s, e) for s, e in sentence_spans(text) if s <= start < e), (start, end))
    return s, max(e, end)


def split_sentences(text: str) -> list[str]:
    """The sentences of text, as strings."""
    return [text[s:e] for s, e in sentence_spans(text)]


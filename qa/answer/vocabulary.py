"""The reader's vocabularies as named data: characters (learned from the training text) and tags.

Characters are width-folded and lower-cased before lookup (qa.text.fold), so Ａ and a,
１ and 1 share an entry. Id 0 pads, id 1 stands for a character not in the vocabulary.
The part-of-speech inventory is jieba's; the word-boundary tags say where a character
sits in its jieba word. Each list has a version the model file records, and a model
trained with another version is refused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import numpy as np

from qa.text import fold

PAD, UNKNOWN = 0, 1
VOCABULARY_VERSION = 1

# jieba.posseg's tags (ICTCLAS-style); an unlisted tag maps to "x".
POS_TAGS = (
    "<pad>", "a", "ad", "ag", "an", "b", "c", "d", "df", "dg", "e", "eng", "f", "g", "h", "i", "j", "k", "l",
    "m", "mg", "mq", "n", "ng", "nr", "nrfg", "nrt", "ns", "nt", "nz", "o", "p", "q", "r", "rg", "rr", "rz",
    "s", "t", "tg", "u", "ud", "ug", "uj", "ul", "uv", "uz", "v", "vd", "vg", "vi", "vn", "vq", "x", "y", "z",
    "zg",
)
POS_VERSION = 1
POS_IDS = {tag: i for i, tag in enumerate(POS_TAGS)}

# Where a character sits in its word: Begin, Middle, End, or a Single-character word.
BOUNDARIES = ("<pad>", "B", "M", "E", "S")


class CharVocabulary:
    """Maps characters to ids through one lookup table over the Basic Multilingual Plane."""

    def __init__(self, chars: str):
        self.chars = chars
        self.table = np.full(0x10000, UNKNOWN, np.int64)
        for index, char in enumerate(chars, start=2):
            self.table[ord(char)] = index

    def __len__(self) -> int:
        return len(self.chars) + 2

    def ids(self, text: str) -> np.ndarray:
        """One id per character of text (folded and lower-cased first)."""
        points = np.frombuffer(fold(text).lower().encode("utf-32-le"), dtype=np.uint32)
        return self.table[np.minimum(points, 0xFFFF)]

    @classmethod
    def build(cls, texts: Iterable[str], min_count: int = 2) -> "CharVocabulary":
        """The characters seen at least min_count times, most frequent first."""
        counts = Counter()
        for text in texts:
            counts.update(fold(text).lower())
        chars = [c for c, n in counts.most_common() if n >= min_count and ord(c) < 0xFFFF and not c.isspace()]
        return cls("".join(chars))

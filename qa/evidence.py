"""Evidence sentences: split retrieved passages into sentences and rank them against the question.

A sentence is scored by how much of the question it covers (characters and
character pairs, function characters discounted), how well the words around the
question word line up with it, and the rank of its passage. Only the best few
sentences go on to span extraction, which keeps the answer step fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from qa.question import Question
from qa.retriever import Passage
from qa.text import fold, is_punct, sentence_spans

# Characters too common to count as evidence that a sentence is about the question.
FUNCTION_CHARS = frozenset("的了是在和与及或有为被把这那个吗呢么吧啊请问就也都而其之以于对从向")
ANCHOR_CAP = 8


@dataclass
class QuestionTerms:
    """The question's characters and character pairs, for matching against sentences."""

    question: Question
    chars: frozenset = field(init=False)
    bigrams: frozenset = field(init=False)

    def __post_init__(self):
        q = self.question
        wh = set(q.wh)
        words = [part.lower() for part in (q.left, q.right)]
        self.chars = frozenset(
            c for part in words for c in part if not is_punct(c) and c not in FUNCTION_CHARS and c not in wh
        )
        self.bigrams = frozenset(
            part[i : i + 2]
            for part in words
            for i in range(len(part) - 1)
            if not is_punct(part[i]) and not is_punct(part[i + 1])
        )

    @cached_property
    def left(self) -> str:
        return self.question.left.lower()

    @cached_property
    def right(self) -> str:
        return self.question.right.lower()


@dataclass
class Sentence:
    """One sentence of a retrieved passage, with the per-character match arrays spans need."""

    passage: Passage
    start: int  # in the chunk's text
    end: int
    text: str
    folded: str
    bounds: list[int]  # token boundaries, relative to start, from 0 to len(text)
    tags: list[str]  # part-of-speech tag of each token
    qchar: np.ndarray  # 1 where the character is a question content character
    matched: np.ndarray  # 1 where the character is inside a question character pair
    score: float = 0.0
    rank: int = 0

    @property
    def is_question(self) -> bool:
        """Interview questions (ending in ？) state nothing."""
        return self.text.rstrip("”’」』）) ").endswith(("？", "?"))


def suffix_match(text: str, end: int, target: str, cap: int = ANCHOR_CAP) -> int:
    """Length of the longest common suffix of text[:end] and target, at most cap."""
    n = 0
    while n < cap and n < end and n < len(target) and text[end - 1 - n] == target[-1 - n]:
        n += 1
    return n


def prefix_match(text: str, start: int, target: str, cap: int = ANCHOR_CAP) -> int:
    """Length of the longest common prefix of text[start:] and target, at most cap."""
    n = 0
    while n < cap and start + n < len(text) and n < len(target) and text[start + n] == target[n]:
        n += 1
    return n


def best_suffix_match(text: str, target: str) -> int:
    """Longest suffix of target found anywhere in text, at most ANCHOR_CAP characters."""
    best = 0
    if target:
        position = text.find(target[-1])
        while position >= 0 and best < ANCHOR_CAP:
            best = max(best, suffix_match(text, position + 1, target))
            position = text.find(target[-1], position + 1)
    return best


def best_prefix_match(text: str, target: str) -> int:
    """Longest prefix of target found anywhere in text, at most ANCHOR_CAP characters."""
    best = 0
    if target:
        position = text.find(target[0])
        while position >= 0 and best < ANCHOR_CAP:
            best = max(best, prefix_match(text, position, target))
            position = text.find(target[0], position + 1)
    return best


def _token_bounds(tags: list[tuple[int, str]], start: int, end: int) -> tuple[list[int], list[str]]:
    """Token boundaries and tags inside [start, end) of a chunk, relative to start."""
    bounds, labels, pos = [0], [], 0
    for length, tag in tags:
        token_start, pos = pos, pos + length
        if pos <= start or token_start >= end:
            continue
        cut = min(pos, end) - start
        if cut > bounds[-1]:
            bounds.append(cut)
            labels.append(tag)
    if bounds[-1] != end - start:
        bounds.append(end - start)
        labels.append("x")
    return bounds, labels


def split_passages(passages: list[Passage], terms: QuestionTerms) -> list[Sentence]:
    """Every sentence of the passages, with match arrays filled in."""
    sentences = []
    for passage in passages:
        chunk = passage.chunk
        folded = fold(chunk.text).lower()
        qchar = np.fromiter((c in terms.chars for c in folded), dtype=np.float32, count=len(folded))
        matched = np.zeros(len(folded), dtype=np.float32)
        for i in range(len(folded) - 1):
            if folded[i : i + 2] in terms.bigrams:
                matched[i : i + 2] = 1.0
        for start, end in sentence_spans(chunk.text):
            bounds, tags = _token_bounds(chunk.tags, start, end)
            sentences.append(
                Sentence(
                    passage=passage, start=start, end=end, text=chunk.text[start:end], folded=folded[start:end],
                    bounds=bounds, tags=tags, qchar=qchar[start:end], matched=matched[start:end],
                )
            )
    return sentences


def rank_sentences(sentences: list[Sentence], terms: QuestionTerms, keep: int) -> list[Sentence]:
    """Score sentences against the question and return the best `keep`, best first."""
    total_chars = max(len(terms.chars), 1)
    total_pairs = max(len(terms.bigrams), 1)
    top_passage = max((s.passage.score for s in sentences), default=1.0) or 1.0
    for s in sentences:
        char_cover = len(terms.chars.intersection(s.folded)) / total_chars
        # Each matched pair marks two characters; overlapping pairs make this a slight overcount.
        pair_cover = min(float(s.matched.sum()) / (2 * total_pairs), 1.0)
        anchors = best_suffix_match(s.folded, terms.left) + best_prefix_match(s.folded, terms.right)
        s.score = (
            0.45 * char_cover
            + 0.35 * pair_cover
            + 0.1 * anchors / (2 * ANCHOR_CAP)
            + 0.1 * s.passage.score / top_passage
            - 0.5 * s.is_question
        )
    ranked = sorted(sentences, key=lambda s: -s.score)[:keep]
    for rank, s in enumerate(ranked):
        s.rank = rank
    return ranked

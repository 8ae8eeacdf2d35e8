"""Evidence sentences: split retrieved passages into sentences and rank them against the question.

A sentence is described by how much of the question it covers (characters,
character pairs, IDF-weighted words, the longest run of question text), how well
the words on each side of the question word line up with it, whether it holds
something of the asked-for type, and its passage's rank. A linear model over
these (fitted with the span ranker, see ``eval/train_answer_model.py``) scores it;
only the best few sentences go on to span extraction, which keeps answers fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from qa.question import Question, subject_of
from qa.retriever import Passage
from qa.text import CharClass, code_points, fold, is_punct, sentence_spans
from qa.tokenization import tokenize

# Characters too common to count as evidence that a sentence is about the question.
FUNCTION_CHARS = frozenset("的了是在和与及或有为被把这那个吗呢么吧啊请问就也都而其之以于对从向")
ANCHOR_CAP = 8
DIGIT_CHARS = frozenset("0123456789零〇一二两三四五六七八九十百千万亿")

SENTENCE_FEATURES = (
    "char_cover", "pair_cover", "token_cover", "longest_run", "left_anchor", "right_anchor", "passage_score",
    "passage_rank", "is_question", "length", "type_support", "subject_cover", "bias",
)


def _pairs(text: str) -> frozenset:
    return frozenset(text[i : i + 2] for i in range(len(text) - 1) if not is_punct(text[i]) and not is_punct(text[i + 1]))


@dataclass
class QuestionTerms:
    """The question's characters, character pairs (each side of the question word) and weighted words."""

    question: Question
    idf: object = None  # callable: tokens -> IDF array
    chars: frozenset = field(init=False)
    left_pairs: frozenset = field(init=False)
    right_pairs: frozenset = field(init=False)
    tokens: list = field(init=False)
    weights: np.ndarray = field(init=False)

    def __post_init__(self):
        q = self.question
        self.left, self.right = q.left.lower(), q.right.lower()
        wh = set(q.wh)
        self.chars = frozenset(
            c for part in (self.left, self.right) for c in part if not is_punct(c) and c not in FUNCTION_CHARS and c not in wh
        )
        self.left_pairs, self.right_pairs = _pairs(self.left), _pairs(self.right)
        self.char_class = CharClass(self.chars)
        self.left_keys, self.right_keys = _pair_keys(self.left_pairs), _pair_keys(self.right_pairs)
        self.tokens = list(dict.fromkeys(tokenize(q.text)))
        self.subjects = [part.strip("“”《》「」\"").lower() for part in subject_of(q.text)]
        self.weights = np.asarray(self.idf(self.tokens), float) if self.idf and self.tokens else np.ones(len(self.tokens))

    @property
    def pairs(self) -> frozenset:
        return self.left_pairs | self.right_pairs


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
    left_match: np.ndarray  # 1 where the character is in a character pair from left of the question word
    right_match: np.ndarray  # same, right of the question word
    features: np.ndarray | None = None
    score: float = 0.0
    rank: int = 0

    @property
    def matched(self) -> np.ndarray:
        return np.maximum(self.left_match, self.right_match)

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


def _pair_keys(pairs) -> np.ndarray:
    """Two-character strings as sorted integers, to find them in a text by binary search."""
    return np.unique(np.array([ord(p[0]) * 0x10000 + ord(p[1]) for p in pairs if max(map(ord, p)) < 0xFFFF], np.int64))


def _pair_marks(codes: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """1 on both characters of every occurrence of one of the pairs (keys from _pair_keys)."""
    marks = np.zeros(len(codes), np.float32)
    if len(keys) and len(codes) > 1:
        codes = codes.astype(np.int64)
        found = codes[:-1] * 0x10000 + codes[1:]
        hit = keys[np.minimum(np.searchsorted(keys, found), len(keys) - 1)] == found  # keys are sorted
        marks[:-1][hit] = 1.0
        marks[1:][hit] = 1.0
    return marks


def _longest_run(marks: np.ndarray) -> int:
    """Length of the longest run of ones."""
    if not marks.any():
        return 0
    edges = np.diff(np.concatenate([[0], marks.astype(np.int8), [0]]))
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max())


def _token_bounds(ends: np.ndarray, tags: list[str], start: int, end: int) -> tuple[list[int], list[str]]:
    """Token boundaries and tags inside [start, end) of a chunk, relative to start.

    ends holds the chunk's token end offsets; tokens straddling the sentence edges are clipped.
    """
    first = int(np.searchsorted(ends, start, side="right"))
    last = int(np.searchsorted(ends, end, side="left"))
    cuts = [int(e) - start for e in ends[first:last]] + [end - start]
    labels = tags[first : last + 1]
    labels += ["x"] * (len(cuts) - len(labels))
    return [0] + cuts, labels


def split_passages(passages: list[Passage], terms: QuestionTerms) -> list[Sentence]:
    """Every sentence of the passages, with match arrays filled in."""
    sentences = []
    for passage in passages:
        chunk = passage.chunk
        folded = fold(chunk.text).lower()
        codes = code_points(folded)
        qchar = terms.char_class.table[codes].astype(np.float32)
        left_match, right_match = _pair_marks(codes, terms.left_keys), _pair_marks(codes, terms.right_keys)
        ends = np.cumsum([length for length, _ in chunk.tags])
        labels = [tag for _, tag in chunk.tags]
        for start, end in sentence_spans(chunk.text):
            bounds, tags = _token_bounds(ends, labels, start, end)
            sentences.append(
                Sentence(
                    passage=passage, start=start, end=end, text=chunk.text[start:end], folded=folded[start:end],
                    bounds=bounds, tags=tags, qchar=qchar[start:end], left_match=left_match[start:end],
                    right_match=right_match[start:end],
                )
            )
    return sentences


def _type_support(answer_type: str, sentence: Sentence) -> bool:
    """Whether the sentence holds something of the type the question asks for."""
    if answer_type in ("quantity", "time"):
        return any(c in DIGIT_CHARS for c in sentence.folded)
    if answer_type == "person":
        return any(tag.startswith("nr") or tag == "eng" for tag in sentence.tags)
    if answer_type == "place":
        return any(tag == "ns" for tag in sentence.tags)
    if answer_type == "list":
        return "、" in sentence.text
    return True


def sentence_features(sentences: list[Sentence], terms: QuestionTerms) -> np.ndarray:
    """One SENTENCE_FEATURES row per sentence."""
    total_chars = max(len(terms.chars), 1)
    total_pairs = max(len(terms.pairs), 1)
    total_weight = float(terms.weights.sum()) or 1.0
    top_passage = max((s.passage.score for s in sentences), default=1.0) or 1.0
    rows = []
    sections: dict[int, float] = {}
    for s in sentences:
        chunk = s.passage.chunk
        if chunk.id not in sections:  # the places, people, dates the question names, in this section
            section = f"{chunk.heading} {chunk.text}".lower()
            found = [subject in section for subject in terms.subjects]
            sections[chunk.id] = sum(found) / len(found) if found else 1.0
        matched = s.matched
        token_cover = sum(w for t, w in zip(terms.tokens, terms.weights) if t in s.folded) / total_weight
        rows.append([
            len(terms.chars.intersection(s.folded)) / total_chars,
            min(float(matched.sum()) / (2 * total_pairs), 1.0),
            token_cover,
            _longest_run(matched) / max(len(terms.left) + len(terms.right), 1),
            best_suffix_match(s.folded, terms.left) / ANCHOR_CAP,
            best_prefix_match(s.folded, terms.right) / ANCHOR_CAP,
            s.passage.score / top_passage,
            (s.passage.rank - 1) / 10,
            float(s.is_question),
            np.log1p(len(s.text)) / np.log(300),
            float(_type_support(terms.question.answer_type, s)),
            sections[chunk.id],
            1.0,
        ])
    return np.asarray(rows, np.float32).reshape(len(sentences), len(SENTENCE_FEATURES))


def rank_sentences(sentences: list[Sentence], terms: QuestionTerms, keep: int, weights: np.ndarray) -> list[Sentence]:
    """Score sentences with the linear sentence model and return the best `keep`, best first."""
    features = sentence_features(sentences, terms)
    scores = features @ weights
    for s, row, score in zip(sentences, features, scores):
        s.features, s.score = row, float(score)
    ranked = sorted(sentences, key=lambda s: -s.score)[:keep]
    for rank, s in enumerate(ranked):
        s.rank = rank
    return ranked

"""Named features of a candidate answer span, what the span ranker (qa.answer.ranking) weighs.

The reader scores every span from the characters around it; these features add what a
span's score does not say directly, computed from what reading already made (the
passage's per-character flags and tags, qa.answer.encoding) and from the retrieval:

* the reader: the span's log-probability, its gap to the best candidate, its rank;
* the passage: its position among those read, its retrieval scores, its no-answer score;
* the span's shape: length, numbers, dates, percentages, list and clause marks;
* the question: the share of the span's characters the question already holds (an answer
  is new information), how near the span the question's words stand, and how much of the
  question the span's sentence covers;
* its words: the part of speech of the words it starts and ends in;
* the other candidates: whether it holds the best candidate or lies inside it.

Features are assembled by name (``SPAN_FEATURES``); the ranker's model file records
the names it was trained on and refuses others.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qa.answer.decoding import PassageSpan
from qa.answer.encoding import FLAGS, EncodedPassage
from qa.types import Passage

SPAN_FEATURE_VERSION = 1
# Characters either side of a span over which the question's characters and words are counted.
AROUND = 15
# Distance given when the passage holds none of the question's words (about a passage's length).
FAR = 400.0
_NUMBER = re.compile(r"[0-9０-９一二三四五六七八九十百千万亿两]")
_DATE = re.compile(r"[0-9０-９]+[年月日]")
_CHAR, _WORD = FLAGS.index("char_in_question"), FLAGS.index("word_in_question")
_SENTENCE_CHARS, _SENTENCE_WORDS = FLAGS.index("sentence_char_coverage"), FLAGS.index("sentence_word_coverage")


@dataclass
class Candidate:
    """A candidate span with what its features are computed from."""

    span: PassageSpan  # start, end: positions in the passage text as read
    text: str
    passage: Passage
    encoded: EncodedPassage
    rank: int  # among the candidates, best first
    best: "Candidate | None" = None  # the best candidate (itself for the first)
    question_chars: frozenset[str] = frozenset()
    # Positions of the passage's characters in a question word (question_word_positions), shared by
    # the candidates of one passage; computed when absent.
    question_word_at: np.ndarray | None = None

    def distance_to_question_word(self) -> float:
        """Characters between the span and the nearest character of a question word in its passage."""
        marked = self.question_word_at if self.question_word_at is not None else question_word_positions(self.encoded)
        if not marked.size:
            return FAR
        before = marked[marked < self.span.start]
        after = marked[marked >= self.span.end]
        inside = marked[(marked >= self.span.start) & (marked < self.span.end)]
        if inside.size:
            return 0.0
        gaps = [self.span.start - before[-1]] if before.size else []
        gaps += [after[0] - self.span.end + 1] if after.size else []
        return float(min(gaps))

    def around(self, column: int) -> float:
        """The share of the characters within AROUND of the span that a flag column marks."""
        flags = self.encoded.flags
        return float(flags[max(0, self.span.start - AROUND) : self.span.end + AROUND, column].mean())


def question_word_positions(encoded: EncodedPassage) -> np.ndarray:
    """The positions of a passage's characters that belong to one of the question's words."""
    return np.flatnonzero(encoded.flags[:, _WORD] > 0)


FEATURES: dict[str, Callable[[Candidate], float]] = {
    # the reader
    "span_log_probability": lambda c: c.span.log_probability,
    "gap_to_best": lambda c: c.span.log_probability - c.best.span.log_probability,
    "candidate_rank": lambda c: float(c.rank),
    # the passage
    "passage_position": lambda c: float(c.span.passage),
    "passage_score": lambda c: float(c.passage.score),
    "bm25": lambda c: float(c.passage.bm25),
    "dense": lambda c: float(c.passage.dense),
    "no_answer_log_probability": lambda c: c.span.no_answer,
    # the span's shape
    "answer_chars": lambda c: float(len(c.text)),
    "log_answer_chars": lambda c: math.log1p(len(c.text)),
    "holds_number": lambda c: float(bool(_NUMBER.search(c.text))),
    "holds_date": lambda c: float(bool(_DATE.search(c.text))),
    "is_percentage": lambda c: float(c.text.endswith(("%", "％"))),
    "holds_list_mark": lambda c: float("、" in c.text),
    "holds_comma": lambda c: float("，" in c.text),
    "starts_with_number": lambda c: float(bool(_NUMBER.match(c.text))),
    # the question
    "question_char_share": lambda c: sum(ch in c.question_chars for ch in c.text) / max(len(c.text), 1),
    "distance_to_question_word": lambda c: min(c.distance_to_question_word(), FAR),
    "question_chars_around": lambda c: c.around(_CHAR),
    "question_words_around": lambda c: c.around(_WORD),
    "sentence_char_coverage": lambda c: float(c.encoded.flags[c.span.start, _SENTENCE_CHARS]),
    "sentence_word_coverage": lambda c: float(c.encoded.flags[c.span.start, _SENTENCE_WORDS]),
    # its words (categorical: part-of-speech ids, qa.answer.vocabulary.POS_IDS)
    "start_pos": lambda c: float(c.encoded.pos[c.span.start]),
    "end_pos": lambda c: float(c.encoded.pos[c.span.end - 1]),
    # the other candidates
    "holds_best": lambda c: float(c.best.text in c.text and c.text != c.best.text),
    "inside_best": lambda c: float(c.text in c.best.text and c.text != c.best.text),
}
SPAN_FEATURES = tuple(FEATURES)
CATEGORICAL = ("start_pos", "end_pos")


def span_features(candidates: list[Candidate], names: tuple[str, ...] = SPAN_FEATURES) -> np.ndarray:
    """(candidates, features) float64: each candidate's features, in the order of names."""
    functions = [FEATURES[name] for name in names]
    return np.array([[feature(candidate) for feature in functions] for candidate in candidates], np.float64).reshape(
        len(candidates), len(functions))

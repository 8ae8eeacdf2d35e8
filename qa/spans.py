"""Candidate answer spans and their features, computed for all spans of a sentence at once.

A candidate is a run of whole jieba tokens inside an evidence sentence that does
not start or end with punctuation. Its features say how it sits against the
question (does the text before it match the words before the question word, the
text after it the words after; does it repeat the question), what it looks like
(a quantity with its unit, a date, a name, a quoted title, an enumeration), where
its boundaries fall, and how good its sentence and passage are. Every feature is
a prefix-sum difference or an array lookup, so a sentence's few hundred spans cost
a handful of numpy operations rather than a Python loop each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.answer_types import DIGITS, QUALIFIERS, typed_spans
from qa.evidence import ANCHOR_CAP, SENTENCE_FEATURES, QuestionTerms, Sentence, prefix_match, suffix_match
from qa.question import Question
from qa.text import PUNCT_CLASS, CharClass, code_points

MAX_SPAN_TOKENS = 24
MAX_SPAN_CHARS = 80
NEAR = 8  # characters looked at on each side of a span
FAR = 30  # distances are capped here
COPULAS = "是为叫"  # may sit between the question's words and the gap: 记者是谁 ↔ 记者 何芳

ANSWER_TYPES = ("quantity", "time", "person", "place", "list", "entity", "reason", "manner", "other")
OPENERS, CLOSERS = "“《「『\"'（(", "”》」』\"'）)"
_OPENERS, _CLOSERS = CharClass(OPENERS), CharClass(CLOSERS)
_COMMAS, _DUN, _DIGITS, _NUMBER_START = CharClass("，,；;"), CharClass("、"), CharClass(DIGITS), CharClass(DIGITS | QUALIFIERS)
TAG_GROUPS = {
    "person": ("nr", "nrt", "nrfg"),
    "place": ("ns",),
    "org": ("nt", "nz", "j"),
    "noun": ("n", "ng", "vn", "an"),
    "verb": ("v", "vd", "vg", "vi", "vq"),
    "number": ("m", "mq", "q"),
    "time": ("t", "tg"),
    "foreign": ("eng",),
}

_TAG_GROUP = {tag: index for index, tags in enumerate(TAG_GROUPS.values()) for tag in tags}
_TAG_ONE_HOT = np.vstack([np.eye(len(TAG_GROUPS), dtype=np.float32), np.zeros((1, len(TAG_GROUPS)), np.float32)])  # row -1: no group

FEATURES = (
    ["bias", "length", "tokens", "repeats_question", "inside_question_pairs", "left_exact", "right_exact",
     "left_near", "right_near", "left_fuzzy", "right_fuzzy", "left_run", "right_run", "left_distance", "right_distance",
     "punct_after_left_anchor", "punct_before_right_anchor", "support_outside", "starts_clause", "ends_clause",
     "whole_sentence", "inner_commas", "enumeration_marks", "quoted", "digit_share",
     "starts_with_number", "unit_match", "relative_position", "sentence_score", "sentence_rank",
     "passage_rank", "passage_score", "sentence_is_question", "has_left_context", "has_right_context",
     "ends_sentence"]
    + [f"sentence_{name}" for name in SENTENCE_FEATURES if name != "bias"]
    + [f"tag_{group}" for group in TAG_GROUPS]
    + [f"shape_{kind}" for kind in ("quantity", "time", "person", "place", "list", "typed")]
    + [f"type_{kind}" for kind in ANSWER_TYPES]
)


@dataclass
class Candidates:
    """Spans of the evidence sentences: sentence index, start and end (in the sentence), features,
    and whether each has the shape the question asks for (see qa.answer_types)."""

    sentence: np.ndarray
    start: np.ndarray
    end: np.ndarray
    features: np.ndarray
    typed: np.ndarray
    quoted: np.ndarray

    def __len__(self) -> int:
        return len(self.start)


def _prefix(values) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum(np.asarray(values, dtype=np.float32))])


def _char_flags(text: str, allowed: CharClass) -> np.ndarray:
    return _prefix(allowed.flags(text))


def _anchor_arrays(text: str, terms: QuestionTerms) -> tuple[np.ndarray, np.ndarray]:
    """For each position p: how much of the question's left part ends at p, right part starts at p.

    A copula before the question word may be missing from the text (记者是谁 ↔ 本报记者 何芳), and
    spaces between anchor and answer do not count."""
    n = len(text)
    left, right = np.zeros(n + 1, np.float32), np.zeros(n + 1, np.float32)
    for target in dict.fromkeys((terms.left, terms.left.rstrip(COPULAS))):
        position = text.find(target[-1]) if target else -1
        while position >= 0:
            left[position + 1] = max(left[position + 1], suffix_match(text, position + 1, target))
            position = text.find(target[-1], position + 1)
    if terms.right:
        position = text.find(terms.right[0])
        while position >= 0:
            right[position] = prefix_match(text, position, terms.right)
            position = text.find(terms.right[0], position + 1)
    spaces = [p for p, c in enumerate(text) if c == " "]
    for p in spaces:
        left[p + 1] = max(left[p + 1], left[p])
    for p in reversed(spaces):
        right[p] = max(right[p], right[p + 1])
    return left / ANCHOR_CAP, right / ANCHOR_CAP


def _ends_with_unit(text: str, unit: str) -> np.ndarray:
    """flags[p] is 1 when text[:p] ends with the question's unit."""
    flags = np.zeros(len(text) + 1, np.float32)
    if unit:
        position = text.find(unit)
        while position >= 0:
            flags[position + len(unit)] = 1.0
            position = text.find(unit, position + 1)
    return flags


FUZZY = 6  # question characters compared on each side
CLAUSE_STOPS = CharClass("，,；;。：:!！?？")


def _fuzzy_arrays(text: str, terms: QuestionTerms) -> tuple[np.ndarray, np.ndarray]:
    """Share of the question's last (first) characters before (after) the question word found in the
    NEAR characters before (after) each position, within its clause: alignment that tolerates small
    rewordings, and does not reach across a comma into the next item (取保6人，刑拘2人)."""
    n = len(text)
    positions = np.arange(n + 1)
    stops = CLAUSE_STOPS.flags(text)
    codes = code_points(text)
    # The clause around each position: after the last stop before it, up to the next stop.
    last_stop = np.maximum.accumulate(np.where(np.concatenate([[True], stops]), positions, 0))
    next_stop = np.minimum.accumulate(np.where(np.concatenate([stops, [True]]), positions, n)[::-1])[::-1]
    lo = np.maximum(positions - NEAR, last_stop)
    hi = np.minimum(positions + NEAR, next_stop)
    sides = []
    for chars, start, end in ((terms.left[-FUZZY:], lo, positions), (terms.right[:FUZZY], positions, hi)):
        chars = set(chars) - {" "}
        found = np.zeros(n + 1, np.float32)
        for char in chars:
            seen = _prefix(codes == ord(char))
            found += (seen[end] - seen[np.minimum(start, end)]) > 0
        sides.append(found / len(chars) if chars else found)
    return sides[0], sides[1]


RUN_REACH = 24  # how far a matched run may be from the span and still count


def _run_arrays(left_match: np.ndarray, right_match: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each position: the best run of question text ending before it (left side) or starting
    at or after it (right side), as run length discounted by the gap, in [0, 1].

    A long exact run a little further away (暂不具备解决条件的……问题94个) beats a short common word
    right next to the span (解决问题2276个)."""
    n = len(left_match)
    left, right = np.zeros(n + 1, np.float32), np.zeros(n + 1, np.float32)
    for marks, out, before in ((left_match, left, True), (right_match, right, False)):
        edges = np.diff(np.concatenate([[0], marks.astype(np.int8), [0]]))
        for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
            value = min((end - start) / ANCHOR_CAP, 1.0)
            positions = np.arange(n + 1)
            gap = positions - end if before else start - positions
            reach = (gap >= 0) & (gap <= RUN_REACH)
            out[reach] = np.maximum(out[reach], value / (1.0 + gap[reach] / NEAR))
    return left, right


def _span_grid(bounds: list[int], clause_tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Token index pairs (i, j), i < j: all up to MAX_SPAN_TOKENS apart, and any length when both
    ends fall on clause boundaries (long CMRC-style answers are whole clauses or sentences)."""
    count = len(bounds) - 1
    i, j = np.triu_indices(count + 1, k=1)
    keep = ((j - i) <= MAX_SPAN_TOKENS) | (clause_tokens[i] & clause_tokens[j])
    return i[keep], j[keep]


def sentence_candidates(question: Question, terms: QuestionTerms, s: Sentence, keep: int, top_passage: float):
    """(start, end, features) of every candidate span of one sentence."""
    text, n = s.folded, len(s.folded)
    bounds = np.asarray(s.bounds)
    punct = np.append(PUNCT_CLASS.flags(text), True)
    at_clause = np.array([p == 0 or p >= n or punct[p - 1] or punct[p] for p in s.bounds])
    ti, tj = _span_grid(s.bounds, at_clause)
    a, b = bounds[ti], bounds[tj]
    ok = (~punct[a]) & (~punct[np.maximum(b - 1, 0)]) & ((b - a) <= MAX_SPAN_CHARS)
    ti, tj, a, b = ti[ok], tj[ok], a[ok], b[ok]
    if len(a) == 0:
        return a, b, np.zeros((0, len(FEATURES)), np.float32), np.zeros(0, bool), np.zeros(0, bool)
    length = (b - a).astype(np.float32)

    qchar, matched, punct_sum = _prefix(s.qchar), _prefix(s.matched), _prefix(punct[:n])
    left_matched, right_matched = _prefix(s.left_match), _prefix(s.right_match)
    left_fuzzy, right_fuzzy = _fuzzy_arrays(text, terms)
    left_run, right_run = _run_arrays(s.left_match, s.right_match)
    commas = _char_flags(text, _COMMAS)
    dun = _char_flags(text, _DUN)
    digits = _char_flags(text, _DIGITS)
    shapes = typed_spans(question.answer_type, text, a, b, ti, tj, s.bounds, s.tags)
    left_at, right_at = _anchor_arrays(text, terms)
    unit_at = _ends_with_unit(text, question.unit)

    # Sentinels stand for "no match on that side".
    left_hits = np.concatenate([[-FAR], np.flatnonzero(s.left_match), [n + FAR]])
    right_hits = np.concatenate([[-FAR], np.flatnonzero(s.right_match), [n + FAR]])
    last_hit = left_hits[np.searchsorted(left_hits, a) - 1]  # last left-side match before a
    next_hit = right_hits[np.searchsorted(right_hits, b)]  # first right-side match at or after b
    left_distance = np.minimum(a - last_hit - 1, FAR) / FAR
    right_distance = np.minimum(next_hit - b, FAR) / FAR
    punct_left = np.minimum(punct_sum[a] - punct_sum[np.clip(last_hit + 1, 0, n)], 3) / 3
    punct_right = np.minimum(punct_sum[np.clip(next_hit, 0, n)] - punct_sum[b], 3) / 3

    def window(prefix, lo, hi):
        return prefix[np.clip(hi, 0, n)] - prefix[np.clip(lo, 0, n)]

    opening, closing = _OPENERS.flags(text), _CLOSERS.flags(text)
    openers, closers = np.concatenate([[False], opening]), np.append(closing, False)
    quote_marks = _prefix(opening | closing)
    quoted = openers[a] & closers[b] & ((quote_marks[b] - quote_marks[a]) == 0)  # exactly one quotation's content
    starts_clause = (a == 0) | punct[np.maximum(a - 1, 0)]
    ends_clause = (b == n) | punct[np.minimum(b, n)]
    digit_count = digits[b] - digits[a]

    tag_prefix = np.vstack([np.zeros(len(TAG_GROUPS), np.float32), np.cumsum(_TAG_ONE_HOT[[_TAG_GROUP.get(t, -1) for t in s.tags]], axis=0)])
    tag_share = ((tag_prefix[tj] - tag_prefix[ti]) / (tj - ti)[:, None]).T
    type_row = np.array([question.answer_type == kind for kind in ANSWER_TYPES], np.float32)

    # Per-span columns, and numbers that are the same for every span of the sentence.
    columns = [
        1.0,
        np.log1p(length) / np.log(MAX_SPAN_CHARS),
        (tj - ti) / MAX_SPAN_TOKENS,
        (qchar[b] - qchar[a]) / length,
        (matched[b] - matched[a]) / length,
        left_at[a],
        right_at[b],
        window(left_matched, a - NEAR, a) / NEAR,
        window(right_matched, b, b + NEAR) / NEAR,
        left_fuzzy[a],
        right_fuzzy[b],
        left_run[a],
        right_run[b],
        left_distance,
        right_distance,
        punct_left,
        punct_right,
        (qchar[n] - (qchar[b] - qchar[a])) / max(len(terms.chars), 1),
        starts_clause,
        ends_clause,
        (a == 0) & (b == n),
        np.minimum(commas[b] - commas[a], 5) / 5,
        np.minimum(dun[b] - dun[a], 5) / 5,
        quoted,
        digit_count / length,
        _NUMBER_START.flags(text)[a],
        unit_at[b],
        a / max(n, 1),
        1.0 / (1.0 + np.exp(-s.score)),
        s.rank / max(keep, 1),
        (s.passage.rank - 1) / 10,
        s.passage.score / top_passage if top_passage > 0 else 0.0,
        s.is_question,
        bool(terms.left),
        bool(terms.right),
        b == n,
        *s.features[:-1],
        *tag_share,
        *(shapes[kind] for kind in ("quantity", "time", "person", "place", "list", "typed")),
        *type_row,
    ]
    features = np.empty((len(a), len(FEATURES)), np.float32)
    for index, column in enumerate(columns):
        features[:, index] = column
    return a, b, features, shapes["typed"], quoted


def candidates(question: Question, terms: QuestionTerms, sentences: list[Sentence]) -> Candidates:
    """All candidate spans of the ranked evidence sentences."""
    parts = []
    top_passage = max((s.passage.score for s in sentences), default=0.0)
    for index, sentence in enumerate(sentences):
        a, b, features, typed, quoted = sentence_candidates(question, terms, sentence, len(sentences), top_passage)
        parts.append((np.full(len(a), index), a, b, features, typed, quoted))
    if not parts:
        empty = np.zeros(0, np.int64)
        return Candidates(empty, empty, empty, np.zeros((0, len(FEATURES)), np.float32), empty.astype(bool), empty.astype(bool))
    return Candidates(*(np.concatenate(column) for column in zip(*parts)))


def span_text(sentences: list[Sentence], spans: Candidates, index: int) -> str:
    """The text of one candidate span."""
    return sentences[spans.sentence[index]].text[spans.start[index] : spans.end[index]]


def span_texts(sentences: list[Sentence], spans: Candidates) -> list[str]:
    """The text of every candidate span."""
    return [span_text(sentences, spans, i) for i in range(len(spans))]

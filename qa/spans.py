"""Candidate answer spans and their features, computed for all spans of all evidence sentences at once.

A candidate is a run of whole jieba tokens inside an evidence sentence that does
not start or end with punctuation. Its features say how it sits against the
question (does the text before it match the words before the question word, the
text after it the words after; does it repeat the question), what it looks like
(a quantity with its unit, a date, a name, a quoted title, an enumeration), where
its boundaries fall, and how good its sentence and passage are. The sentences are
joined into one text (see _Joined) and every feature is a prefix-sum difference or
an array lookup, so a question's thousand-odd spans cost a few dozen numpy
operations rather than a Python loop each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa.answer_types import DIGITS, QUALIFIERS, typed_spans
from qa.alignment import NEAR, SEPARATOR, after_goal, anchor_arrays, fuzzy_arrays, prefix_sums, run_arrays, unit_ends
from qa.evidence import SENTENCE_FEATURES, QuestionTerms, Sentence
from qa.question import Question
from qa.text import PUNCT_CLASS, CharClass

MAX_SPAN_TOKENS = 24
MAX_SPAN_CHARS = 80
FAR = 30  # distances are capped here

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
    planned: np.ndarray  # a goal word (力争, 预计 …) comes earlier in the span's sentence
    precedes: np.ndarray  # share of the question's last words right after the span (“Y”工作机制)

    def __len__(self) -> int:
        return len(self.start)

    @classmethod
    def empty(cls) -> "Candidates":
        """No candidates at all."""
        none = np.zeros(0, np.int64)
        return cls(none, none, none, np.zeros((0, len(FEATURES)), np.float32), *(none.astype(bool),) * 3, none.astype(np.float32))


def _char_flags(text: str, allowed: CharClass) -> np.ndarray:
    return prefix_sums(allowed.flags(text))


def _span_grid(bounds: list[int], clause_tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Token index pairs (i, j), i < j: all up to MAX_SPAN_TOKENS apart, and any length when both
    ends fall on clause boundaries (long CMRC-style answers are whole clauses or sentences)."""
    count = len(bounds) - 1
    i, j = np.triu_indices(count + 1, k=1)
    keep = ((j - i) <= MAX_SPAN_TOKENS) | (clause_tokens[i] & clause_tokens[j])
    return i[keep], j[keep]




@dataclass
class _Joined:
    """The evidence sentences joined by SEPARATOR, so every array is built once per question.

    Positions are in the joined text; sentence k spans [starts[k], ends[k]), and its own
    positions 0..n map to starts[k]..ends[k] (ends[k] is the separator after it)."""

    text: str
    bounds: np.ndarray  # token boundaries, the separators being tokens of their own
    tags: list[str]
    starts: np.ndarray
    ends: np.ndarray
    qchar: np.ndarray
    left_match: np.ndarray
    right_match: np.ndarray

    @classmethod
    def of(cls, sentences: list[Sentence]) -> "_Joined":
        bounds, tags, starts, ends, offset = [], [], [], [], 0
        for s in sentences:
            bounds.extend(offset + x for x in s.bounds)  # its end is where the separator's token starts
            tags.extend(s.tags + ["x"])
            starts.append(offset)
            ends.append(offset + len(s.folded))
            offset += len(s.folded) + 1

        def joined(name: str) -> np.ndarray:
            return np.concatenate([np.append(getattr(s, name), np.float32(0)) for s in sentences])[:-1]

        return cls(
            text=SEPARATOR.join(s.folded for s in sentences), bounds=np.asarray(bounds), tags=tags[:-1],
            starts=np.asarray(starts), ends=np.asarray(ends), qchar=joined("qchar"),
            left_match=joined("left_match"), right_match=joined("right_match"),
        )


def _grid(sentences: list[Sentence], joined: _Joined, punct: np.ndarray) -> tuple[np.ndarray, ...]:
    """(sentence, first token, end token) of every candidate, in joined token indices: whole
    tokens, not starting or ending with punctuation, at most MAX_SPAN_CHARS long."""
    bounds = joined.bounds
    at_clause = punct[np.maximum(bounds - 1, 0)] | punct[bounds]
    at_clause[0] = True
    parts, first = [], 0
    for index, s in enumerate(sentences):
        count = len(s.bounds) - 1
        i, j = _span_grid(s.bounds, at_clause[first : first + count + 1])
        parts.append((np.full(len(i), index), i + first, j + first))
        first += count + 1  # and the separator's token
    sentence, ti, tj = (np.concatenate(column) for column in zip(*parts))
    a, b = bounds[ti], bounds[tj]
    ok = (~punct[a]) & (~punct[np.maximum(b - 1, 0)]) & ((b - a) <= MAX_SPAN_CHARS)
    return sentence[ok], ti[ok], tj[ok]


def candidates(question: Question, terms: QuestionTerms, sentences: list[Sentence]) -> Candidates:
    """All candidate spans of the ranked evidence sentences, with their features."""
    if not sentences:
        return Candidates.empty()
    joined = _Joined.of(sentences)
    text, n = joined.text, len(joined.text)
    punct = np.append(PUNCT_CLASS.flags(text), True)
    sid, ti, tj = _grid(sentences, joined, punct)
    if len(ti) == 0:
        return Candidates.empty()
    a, b = joined.bounds[ti], joined.bounds[tj]
    first, last = joined.starts[sid], joined.ends[sid]  # the span's sentence, in joined positions
    length = (b - a).astype(np.float32)

    qchar, matched, punct_sum = prefix_sums(joined.qchar), prefix_sums(np.maximum(joined.left_match, joined.right_match)), prefix_sums(punct[:n])
    left_matched, right_matched = prefix_sums(joined.left_match), prefix_sums(joined.right_match)
    left_fuzzy, right_fuzzy, left_after = fuzzy_arrays(text, terms)
    runs = [run_arrays(s.left_match, s.right_match) for s in sentences]
    left_run, right_run = (np.concatenate([r[side] for r in runs]) for side in (0, 1))
    commas = _char_flags(text, _COMMAS)
    dun = _char_flags(text, _DUN)
    digits = _char_flags(text, _DIGITS)
    shapes = typed_spans(question.answer_type, text, a, b, ti, tj, joined.bounds, joined.tags)
    left_at, right_at = anchor_arrays(text, terms)
    unit_at = unit_ends(text, question.unit)

    # The nearest question-matched character on each side, within the span's sentence.
    left_hits = np.concatenate([[-n - FAR], np.flatnonzero(joined.left_match), [2 * n + FAR]])
    right_hits = np.concatenate([[-n - FAR], np.flatnonzero(joined.right_match), [2 * n + FAR]])
    last_hit = left_hits[np.searchsorted(left_hits, a) - 1]  # last left-side match before a
    next_hit = right_hits[np.searchsorted(right_hits, b)]  # first right-side match at or after b
    left_found, right_found = last_hit >= first, next_hit < last
    last_hit = np.where(left_found, last_hit, first - FAR)  # "none" sits FAR before the sentence
    left_distance = np.minimum(a - last_hit - 1, FAR) / FAR
    right_distance = np.where(right_found, np.minimum(next_hit - b, FAR), FAR) / FAR
    punct_left = np.minimum(punct_sum[a] - punct_sum[np.maximum(last_hit + 1, first)], 3) / 3
    punct_right = np.minimum(punct_sum[np.where(right_found, next_hit, last)] - punct_sum[b], 3) / 3

    def window(prefix, lo, hi):
        return prefix[np.minimum(hi, last)] - prefix[np.maximum(lo, first)]

    opening, closing = _OPENERS.flags(text), _CLOSERS.flags(text)
    openers, closers = np.concatenate([[False], opening]), np.append(closing, False)
    quote_marks = prefix_sums(opening | closing)
    quoted = openers[a] & closers[b] & ((quote_marks[b] - quote_marks[a]) == 0)  # exactly one quotation's content
    starts_clause = (a == 0) | punct[np.maximum(a - 1, 0)]
    ends_clause = punct[b]
    digit_count = digits[b] - digits[a]

    tag_prefix = np.vstack([np.zeros(len(TAG_GROUPS), np.float32), np.cumsum(_TAG_ONE_HOT[[_TAG_GROUP.get(t, -1) for t in joined.tags]], axis=0)])
    tag_share = ((tag_prefix[tj] - tag_prefix[ti]) / (tj - ti)[:, None]).T
    type_row = np.array([question.answer_type == kind for kind in ANSWER_TYPES], np.float32)
    # Numbers that are the same for every span of a sentence, one row per sentence.
    top_passage = max(s.passage.score for s in sentences)
    per_sentence = np.array([
        [1.0 / (1.0 + np.exp(-s.score)), s.rank / len(sentences), (s.passage.rank - 1) / 10,
         s.passage.score / top_passage if top_passage > 0 else 0.0, s.is_question, bool(terms.left), bool(terms.right)]
        for s in sentences
    ], np.float32)[sid]
    sentence_rows = np.array([s.features[:-1] for s in sentences], np.float32)[sid]

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
        ((qchar[last] - qchar[first]) - (qchar[b] - qchar[a])) / max(len(terms.chars), 1),
        starts_clause,
        ends_clause,
        (a == first) & (b == last),
        np.minimum(commas[b] - commas[a], 5) / 5,
        np.minimum(dun[b] - dun[a], 5) / 5,
        quoted,
        digit_count / length,
        _NUMBER_START.flags(text)[a],
        unit_at[b],
        (a - first) / np.maximum(last - first, 1),
        *per_sentence.T,
        b == last,
        *sentence_rows.T,
        *tag_share,
        *(shapes[kind] for kind in ("quantity", "time", "person", "place", "list", "typed")),
        *type_row,
    ]
    features = np.empty((len(a), len(FEATURES)), np.float32)
    for index, column in enumerate(columns):
        features[:, index] = column
    return Candidates(sid, a - first, b - first, features, shapes["typed"], quoted, after_goal(text)[a], left_after[b])


def span_text(sentences: list[Sentence], spans: Candidates, index: int) -> str:
    """The text of one candidate span."""
    return sentences[spans.sentence[index]].text[spans.start[index] : spans.end[index]]


def span_texts(sentences: list[Sentence], spans: Candidates) -> list[str]:
    """The text of every candidate span."""
    return [span_text(sentences, spans, i) for i in range(len(spans))]

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
from qa.evidence import ANCHOR_CAP, SENTENCE_FEATURES, QuestionTerms, Sentence, prefix_match, suffix_match
from qa.question import GOAL_WORDS, Question
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
    planned: np.ndarray  # a goal word (力争, 预计 …) comes earlier in the span's sentence
    precedes: np.ndarray  # share of the question's last words right after the span (“Y”工作机制)

    def __len__(self) -> int:
        return len(self.start)

    @classmethod
    def empty(cls) -> "Candidates":
        """No candidates at all."""
        none = np.zeros(0, np.int64)
        return cls(none, none, none, np.zeros((0, len(FEATURES)), np.float32), *(none.astype(bool),) * 3, none.astype(np.float32))


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
CLAUSE_STOPS = CharClass("，,；;。：:!！?？\n")  # and the separator of joined sentences


def _fuzzy_arrays(text: str, terms: QuestionTerms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Share of the question's last (first) characters before (after) the question word found in the
    NEAR characters before (after) each position, within its clause: alignment that tolerates small
    rewordings, and does not reach across a comma into the next item (取保6人，刑拘2人).

    The third array is the share of the question's last characters found after each position: a
    question ending in its question word (工作机制叫什么) may be answered by a name put before those
    words (“有求必应、无事不扰”服务企业工作机制)."""
    n = len(text)
    positions = np.arange(n + 1)
    stops = CLAUSE_STOPS.flags(text)
    codes = code_points(text)
    # The clause around each position: after the last stop before it, up to the next stop.
    last_stop = np.maximum.accumulate(np.where(np.concatenate([[True], stops]), positions, 0))
    next_stop = np.minimum.accumulate(np.where(np.concatenate([stops, [True]]), positions, n)[::-1])[::-1]
    lo = np.maximum(positions - NEAR, last_stop)
    hi = np.minimum(positions + NEAR, next_stop)
    tail, head = terms.left[-FUZZY:], terms.right[:FUZZY]
    shares = []
    for chars, start, end in ((tail, lo, positions), (head, positions, hi), (tail, positions, hi)):
        chars = set(chars) - {" "}
        found = np.zeros(n + 1, np.float32)
        for char in chars:
            seen = _prefix(codes == ord(char))
            found += (seen[end] - seen[np.minimum(start, end)]) > 0
        shares.append(found / len(chars) if chars else found)
    return shares[0], shares[1], shares[2]


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


SEPARATOR = "\n"  # joins the evidence sentences: punctuation and a clause stop, in no question
_SEPARATOR = CharClass(SEPARATOR)


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

    qchar, matched, punct_sum = _prefix(joined.qchar), _prefix(np.maximum(joined.left_match, joined.right_match)), _prefix(punct[:n])
    left_matched, right_matched = _prefix(joined.left_match), _prefix(joined.right_match)
    left_fuzzy, right_fuzzy, left_after = _fuzzy_arrays(text, terms)
    runs = [_run_arrays(s.left_match, s.right_match) for s in sentences]
    left_run, right_run = (np.concatenate([r[side] for r in runs]) for side in (0, 1))
    commas = _char_flags(text, _COMMAS)
    dun = _char_flags(text, _DUN)
    digits = _char_flags(text, _DIGITS)
    shapes = typed_spans(question.answer_type, text, a, b, ti, tj, joined.bounds, joined.tags)
    left_at, right_at = _anchor_arrays(text, terms)
    unit_at = _ends_with_unit(text, question.unit)

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
    quote_marks = _prefix(opening | closing)
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
    return Candidates(sid, a - first, b - first, features, shapes["typed"], quoted, _after_goal(text)[a], left_after[b])


def _after_goal(text: str) -> np.ndarray:
    """For each position of the joined sentences: does a goal word (力争, 预计 …) come before it in
    its sentence? A goal governs the clauses after it (力争签约项目300个，其中亿元以上项目200个)."""
    starts = np.zeros(len(text), np.float32)
    for word in GOAL_WORDS:
        position = text.find(word)
        while position >= 0:
            starts[position] = 1.0
            position = text.find(word, position + 1)
    positions = np.arange(len(text) + 1)
    sentence_start = np.maximum.accumulate(np.where(np.concatenate([[True], _SEPARATOR.flags(text)]), positions, 0))
    goals = _prefix(starts)
    return (goals - goals[sentence_start]) > 0


def span_text(sentences: list[Sentence], spans: Candidates, index: int) -> str:
    """The text of one candidate span."""
    return sentences[spans.sentence[index]].text[spans.start[index] : spans.end[index]]


def span_texts(sentences: list[Sentence], spans: Candidates) -> list[str]:
    """The text of every candidate span."""
    return [span_text(sentences, spans, i) for i in range(len(spans))]

"""Alignment arrays: how the text around each position of the evidence lines up with the question.

For every position p of a text (0..len), computed for all positions at once:
anchor_arrays — how much of the question's words before (after) the question word
end (start) exactly at p; fuzzy_arrays — what share of those words' characters lie
near p in its clause; run_arrays — the best run of question text before (after) p,
discounted by its distance; unit_ends — the question's unit ends at p; after_goal —
a goal word (力争, 预计) comes before p in its sentence. Span features in qa.spans are
these arrays read at each span's two ends.
"""

from __future__ import annotations

import numpy as np

from qa.evidence import ANCHOR_CAP, QuestionTerms, prefix_match, suffix_match
from qa.question import GOAL_WORDS
from qa.text import CharClass, code_points

NEAR = 8  # characters looked at on each side of a span
COPULAS = "是为叫"  # may sit between the question's words and the gap: 记者是谁 ↔ 记者 何芳
SEPARATOR = "\n"  # joins the evidence sentences: punctuation and a clause stop, in no question
_SEPARATOR = CharClass(SEPARATOR)


def prefix_sums(values) -> np.ndarray:
    """0 followed by the running sums of values: the sum over [a, b) is sums[b] - sums[a]."""
    return np.concatenate([[0.0], np.cumsum(np.asarray(values, dtype=np.float32))])


def anchor_arrays(text: str, terms: QuestionTerms) -> tuple[np.ndarray, np.ndarray]:
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


def unit_ends(text: str, unit: str) -> np.ndarray:
    """flags[p] is 1 when text[:p] ends with the question's unit."""
    flags = np.zeros(len(text) + 1, np.float32)
    if unit:
        position = text.find(unit)
        while position >= 0:
            flags[position + len(unit)] = 1.0
            position = text.find(unit, position + 1)
    return flags


FUZZY = 6  # question characters compared on each side
CLAUSE_STOPS = CharClass("，,；;。：:!！?？" + SEPARATOR)  # and the end of each joined sentence


def fuzzy_arrays(text: str, terms: QuestionTerms) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
            seen = prefix_sums(codes == ord(char))
            found += (seen[end] - seen[np.minimum(start, end)]) > 0
        shares.append(found / len(chars) if chars else found)
    return shares[0], shares[1], shares[2]


RUN_REACH = 24  # how far a matched run may be from the span and still count


def run_arrays(left_match: np.ndarray, right_match: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def after_goal(text: str) -> np.ndarray:
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
    goals = prefix_sums(starts)
    return (goals - goals[sentence_start]) > 0

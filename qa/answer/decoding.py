"""From the network's scores to spans: the most probable answer span of each passage.

Per passage, start and end are each a softmax over "no answer here" and every
character, as in training; a span's log-probability is its start's plus its
end's, with the end at most ``MAX_ANSWER_CHARS`` characters after the start. The
length the data wants (超31亿元 for 多少, a clause for 为什么) is learned by the
start and end scores; the cap only bounds the search.

Whether the answer runs over a clause break is the network's fourth score (the
crossing logit, qa.answer.network): a span holding a break gains its log-sigmoid, a
span without one the log-sigmoid of its negation, so 28万人，全年销售额超35亿元 loses
to 超35亿元 for a 多少 question and a 为什么 clause keeps its comma.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MAX_ANSWER_CHARS = 64
# Clause breaks: the full-width commas and semicolons between clauses of a sentence. Not 、, which
# joins the items of a list and stays inside list answers; not the ASCII comma, which in this text
# is mostly a thousands separator (近2,400万年) or English.
CLAUSE_BREAKS = frozenset("，；")


@dataclass
class PassageSpan:
    """The best span of one passage (end exclusive) and the passage's no-answer log-probability."""

    passage: int
    start: int
    end: int
    log_probability: float
    no_answer: float


def log_probabilities(start, end, no_answer) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per passage: log-probabilities of each start, each end, and of no answer (start and end both null).
    The arguments are arrays (or CPU tensors, read as arrays); training computes the same softmax in
    PyTorch for its gradients (qa.answer.network.null_first_log_softmax)."""
    start_lp = _null_first_log_softmax(np.asarray(start), np.asarray(no_answer))
    end_lp = _null_first_log_softmax(np.asarray(end), np.asarray(no_answer))
    return start_lp[:, 1:], end_lp[:, 1:], start_lp[:, 0] + end_lp[:, 0]


def _null_first_log_softmax(scores: np.ndarray, no_answer: np.ndarray) -> np.ndarray:
    """(B, 1 + L): log-softmax over "no answer" (column 0) and every position."""
    joined = np.concatenate([no_answer[:, None], scores], 1)
    top = joined.max(1, keepdims=True)
    return joined - (top + np.log(np.exp(joined - top).sum(1, keepdims=True)))


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    return -np.logaddexp(0.0, -x)


def holds_clause_break(text: str) -> bool:
    """Whether a text (an answer) holds a clause break: what the crossing score is the logit of."""
    return any(c in CLAUSE_BREAKS for c in text)


def clause_breaks(texts: list[str], width: int) -> np.ndarray:
    """(len(texts), width) booleans: which characters of each text are clause breaks (padding False)."""
    marks = np.zeros((len(texts), width), dtype=bool)
    for row, text in enumerate(texts):
        marks[row, [i for i, c in enumerate(text[:width]) if c in CLAUSE_BREAKS]] = True
    return marks


def span_scores(start, end, no_answer, crossing, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Every allowed span's log-probability weighed by the crossing score, as a band: scores[b, i, k]
    for the span of passage b from character i to i + k (0 <= k < MAX_ANSWER_CHARS); and each
    passage's no-answer log-probability. texts: the passages read, whose clause breaks the crossing
    score weighs."""
    start_lp, end_lp, null_lp = log_probabilities(start, end, no_answer)
    batch, width = start_lp.shape
    # Only the band of allowed spans is built (a window of ends per start), not every (start, end) pair.
    ends = np.concatenate([end_lp, np.full((batch, MAX_ANSWER_CHARS - 1), -np.inf, end_lp.dtype)], 1)
    scores = start_lp[:, :, None] + sliding_window_view(ends, MAX_ANSWER_CHARS, axis=1)
    # breaks[b, i, k]: a clause break lies in characters i..i + k; before[b, j] counts the breaks
    # before character j, held at its last value past the end.
    counts = np.cumsum(clause_breaks(texts, width), 1, dtype=np.int32)
    before = np.concatenate([np.zeros((batch, 1), np.int32), counts,
                             np.repeat(counts[:, -1:], MAX_ANSWER_CHARS - 1, 1)], 1)
    breaks = sliding_window_view(before[:, 1:], MAX_ANSWER_CHARS, axis=1) > before[:, :width, None]
    crossing = np.asarray(crossing)
    with_break, without = _log_sigmoid(crossing), _log_sigmoid(-crossing)
    return scores + np.where(breaks, with_break[:, None, None], without[:, None, None]), null_lp


def best_spans(start, end, no_answer, crossing, texts: list[str]) -> list[PassageSpan]:
    """The most probable span of every passage, weighed by the crossing score (texts: the passages
    read, whose lengths bound the spans and whose clause breaks the crossing score weighs)."""
    return best_in_band(*span_scores(start, end, no_answer, crossing, texts), texts)


def best_in_band(scores: np.ndarray, null_lp: np.ndarray, texts: list[str]) -> list[PassageSpan]:
    """best_spans from the band span_scores made."""
    flat = scores.reshape(scores.shape[0], -1)
    indexes = flat.argmax(1)
    spans = []
    for row, index in enumerate(indexes.tolist()):
        first, offset = divmod(index, MAX_ANSWER_CHARS)
        last = min(first + offset, len(texts[row]) - 1)
        spans.append(PassageSpan(row, first, last + 1, float(flat[row, index]), float(null_lp[row])))
    return spans


def top_in_band(scores: np.ndarray, null_lp: np.ndarray, texts: list[str], count: int) -> list[PassageSpan]:
    """The count most probable spans over all passages together, best first, each within its passage's
    text, from the band span_scores made (the candidates qa.answer.ranking chooses among)."""
    per_passage = scores.shape[1] * MAX_ANSWER_CHARS
    flat = scores.ravel()
    # Spans running past a passage's end (scored at the network's masking value) are in the band
    # too; taking a few more than count leaves enough once they are skipped.
    taken = min(flat.size, count + 16)
    indexes = np.argpartition(-flat, taken - 1)[:taken] if taken < flat.size else np.arange(flat.size)
    # Best first; among equal scores the earlier passage and span first (two chunks of the same text
    # score alike, and the passage's rank is one of the confidence's features).
    indexes = indexes[np.lexsort((indexes, -flat[indexes]))]
    spans = []
    for index in indexes.tolist():
        row, rest = divmod(index, per_passage)
        first, offset = divmod(rest, MAX_ANSWER_CHARS)
        if first + offset >= len(texts[row]):
            continue
        spans.append(PassageSpan(row, first, first + offset + 1, float(flat[index]), float(null_lp[row])))
        if len(spans) == count:
            break
    return spans

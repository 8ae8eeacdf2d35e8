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

import torch

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


def log_probabilities(start: torch.Tensor, end: torch.Tensor, no_answer: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Per passage: log-probabilities of each start, each end, and of no answer (start and end both null)."""
    start_lp = torch.cat([no_answer.unsqueeze(1), start], 1).log_softmax(1)
    end_lp = torch.cat([no_answer.unsqueeze(1), end], 1).log_softmax(1)
    return start_lp[:, 1:], end_lp[:, 1:], start_lp[:, 0] + end_lp[:, 0]


def holds_clause_break(text: str) -> bool:
    """Whether a text (an answer) holds a clause break: what the crossing score is the logit of."""
    return any(c in CLAUSE_BREAKS for c in text)


def clause_breaks(texts: list[str], width: int) -> torch.Tensor:
    """(len(texts), width) booleans: which characters of each text are clause breaks (padding False)."""
    marks = torch.zeros(len(texts), width, dtype=torch.bool)
    for row, text in enumerate(texts):
        at = [i for i, c in enumerate(text[:width]) if c in CLAUSE_BREAKS]
        marks[row, at] = True
    return marks


def span_scores(start: torch.Tensor, end: torch.Tensor, no_answer: torch.Tensor, crossing: torch.Tensor,
                texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Every allowed span's log-probability weighed by the crossing score, as a band: scores[b, i, k]
    for the span of passage b from character i to i + k (0 <= k < MAX_ANSWER_CHARS); and each
    passage's no-answer log-probability. texts: the passages read, whose clause breaks the crossing
    score weighs."""
    start_lp, end_lp, null_lp = log_probabilities(start, end, no_answer)
    # Only the band of allowed spans is built (a window of ends per start), not every (start, end) pair.
    ends = torch.nn.functional.pad(end_lp, (0, MAX_ANSWER_CHARS - 1), value=float("-inf"))
    scores = start_lp.unsqueeze(2) + ends.unfold(1, MAX_ANSWER_CHARS, 1)
    # breaks[b, i, k]: a clause break lies in characters i..i + k; before[b, j] counts the breaks
    # before character j, held at its last value past the end.
    marks = clause_breaks(texts, start.shape[1]).float()
    before = torch.nn.functional.pad(marks.cumsum(1), (1, 0))
    before = torch.cat([before, before[:, -1:].expand(-1, MAX_ANSWER_CHARS - 1)], 1)
    breaks = before[:, 1:].unfold(1, MAX_ANSWER_CHARS, 1) > before[:, : start.shape[1], None]
    gate = torch.nn.functional.logsigmoid(torch.stack([-crossing, crossing], 1))  # (B, 2): without, with a break
    return scores + torch.where(breaks, gate[:, 1, None, None], gate[:, 0, None, None]), null_lp


def best_spans(start: torch.Tensor, end: torch.Tensor, no_answer: torch.Tensor, crossing: torch.Tensor,
               texts: list[str]) -> list[PassageSpan]:
    """The most probable span of every passage, weighed by the crossing score (texts: the passages
    read, whose lengths bound the spans and whose clause breaks the crossing score weighs)."""
    return best_in_band(*span_scores(start, end, no_answer, crossing, texts), texts)


def best_in_band(scores: torch.Tensor, null_lp: torch.Tensor, texts: list[str]) -> list[PassageSpan]:
    """best_spans from the band span_scores made."""
    flat = scores.flatten(1).max(1)
    spans = []
    for row, (value, index) in enumerate(zip(flat.values.tolist(), flat.indices.tolist())):
        first, offset = divmod(index, MAX_ANSWER_CHARS)
        last = min(first + offset, len(texts[row]) - 1)
        spans.append(PassageSpan(row, first, last + 1, value, float(null_lp[row])))
    return spans


def top_in_band(scores: torch.Tensor, null_lp: torch.Tensor, texts: list[str], count: int) -> list[PassageSpan]:
    """The count most probable spans over all passages together, best first, each within its passage's
    text, from the band span_scores made (the candidates qa.answer.ranking chooses among)."""
    per_passage = scores.shape[1] * MAX_ANSWER_CHARS
    flat = scores.flatten()
    # Spans running past a passage's end (scored at the network's masking value) are in the band
    # too; taking a few more than count leaves enough once they are skipped.
    values, indexes = flat.topk(min(flat.numel(), count + 16))
    spans = []
    for value, index in zip(values.tolist(), indexes.tolist()):
        row, rest = divmod(index, per_passage)
        first, offset = divmod(rest, MAX_ANSWER_CHARS)
        if first + offset >= len(texts[row]):
            continue
        spans.append(PassageSpan(row, first, first + offset + 1, value, float(null_lp[row])))
        if len(spans) == count:
            break
    return spans

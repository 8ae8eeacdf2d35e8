"""From the network's scores to spans: the most probable answer span of each passage.

Per passage, start and end are each a softmax over "no answer here" and every
character, as in training; a span's log-probability is its start's plus its
end's, with the end at most ``MAX_ANSWER_CHARS`` characters after the start. The
length the data wants (超31亿元 for 多少, a clause for 为什么) is learned by the
start and end scores; the cap only bounds the search.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

MAX_ANSWER_CHARS = 64


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


def best_spans(start: torch.Tensor, end: torch.Tensor, no_answer: torch.Tensor, lengths: list[int]) -> list[PassageSpan]:
    """The most probable span of every passage (lengths: the passages' real lengths)."""
    start_lp, end_lp, null_lp = log_probabilities(start, end, no_answer)
    # scores[b, i, k] = start i + end i + k for 0 <= k < MAX_ANSWER_CHARS: only the band of allowed
    # spans is built (a window of ends per start), not every (start, end) pair of the passage.
    ends = torch.nn.functional.pad(end_lp, (0, MAX_ANSWER_CHARS - 1), value=float("-inf"))
    scores = start_lp.unsqueeze(2) + ends.unfold(1, MAX_ANSWER_CHARS, 1)
    flat = scores.flatten(1).max(1)
    spans = []
    for row, (value, index) in enumerate(zip(flat.values.tolist(), flat.indices.tolist())):
        first, offset = divmod(index, MAX_ANSWER_CHARS)
        last = min(first + offset, lengths[row] - 1)
        spans.append(PassageSpan(row, first, last + 1, value, float(null_lp[row])))
    return spans

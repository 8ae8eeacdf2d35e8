"""Words before a number that annotators leave out of answers, learned from the training answers.

The reader's span sometimes starts one or two characters early, on a preposition or verb before
a quantity: 至343家 where the article says 推广至343家 and the answer is 343家. Counted over the
real training answers (news, DRCD, CMRC train splits), annotators keep 至 in 0 of 30 answers
that begin with a number after it, 达 in 2 of 18, 于 in 4 of 127, but 约 in 21 of 56 and
造成 in 18 of 73. ``left_out_prefixes`` turns such counts into the list saved with the reader
(qa.answer.model_file), and the predictor starts an answer after a listed prefix that precedes
a number (``trim``). Nothing here is a hand-written list: the prefixes are whatever the training
answers show, and the two bounds below were chosen on the dev splits (eval/ABLATIONS.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

# What a quantity starts with: digits (ASCII and full-width) and the Chinese numerals.
NUMBER_START = frozenset("0123456789０１２３４５６７８９一二三四五六七八九十百千万亿两几数半")
LONGEST_PREFIX = 2
# A prefix is trusted once annotators have decided on it this often (fewer: too few to tell).
MIN_SEEN = 10
# Left out when annotators keep it at most this share of the time. Why not 0.5: 约 (kept 0.38) and
# 造成 (0.25) are kept by the news annotators more often than the pooled sets say, and at 0.5 news
# dev lost 4 exact answers while People's Daily dev gained 2; at 0.2 news dev loses none.
MAX_KEPT_SHARE = 0.2


def prefix_counts(answers: Iterable[tuple[str, int, int]]) -> dict[str, tuple[int, int]]:
    """For every prefix of one or two characters seen before a number: how many answers keep it
    (the answer starts with it and a number follows) and how many leave it out (the answer starts
    with a number and the prefix stands just before it). answers: (context, start, end) of each."""
    kept, left = Counter(), Counter()
    for context, start, end in answers:
        text = context[start:end]
        for size in range(1, LONGEST_PREFIX + 1):
            if len(text) > size and text[size] in NUMBER_START and text[0] not in NUMBER_START:
                kept[text[:size]] += 1
            if text[:1] in NUMBER_START and start >= size:
                left[context[start - size : start]] += 1
    return {prefix: (kept[prefix], left[prefix]) for prefix in kept.keys() | left.keys()}


def left_out_prefixes(counts: dict[str, tuple[int, int]], min_seen: int = MIN_SEEN,
                      max_kept_share: float = MAX_KEPT_SHARE) -> list[str]:
    """The prefixes annotators leave out, longest first: seen at least min_seen times and kept at
    most max_kept_share of them."""
    chosen = [prefix for prefix, (kept, left) in counts.items()
              if kept + left >= min_seen and kept <= max_kept_share * (kept + left) and prefix.strip()]
    return sorted(chosen, key=lambda prefix: (-len(prefix), prefix))


def trim(text: str, start: int, end: int, prefixes: Iterable[str]) -> int:
    """The answer text[start:end]'s start moved past a listed prefix that a number follows; start
    itself when there is none."""
    for prefix in prefixes:  # longest first
        after = start + len(prefix)
        if after < end and text.startswith(prefix, start) and text[after] in NUMBER_START:
            return after
    return start

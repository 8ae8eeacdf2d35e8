"""Answer metrics by the official CMRC 2018 definition, and retrieval metrics.

CMRC 2018: text is lower-cased; each CJK character (U+4E00–U+9FA5) is a token and
other text is split on whitespace; the listed punctuation is removed. EM compares
the punctuation-stripped strings; F1 takes the longest common *substring* of the
two token lists as the overlap. Both take the maximum over the gold answers.
"""

from __future__ import annotations

import re

CMRC_PUNCTUATION = frozenset("-:_*^/\\~`+=，。：？！“”；’《》…·、「」（）－～『』")
_CJK = re.compile(r"[\u4e00-\u9fa5]")


def cmrc_tokens(text: str) -> list[str]:
    """Mixed segmentation: CJK characters one by one, other runs split on whitespace; punctuation dropped."""
    tokens, pending = [], ""
    for char in str(text).lower().strip():
        if char in CMRC_PUNCTUATION:
            continue
        if _CJK.match(char):
            tokens.extend(pending.split())
            pending = ""
            tokens.append(char)
        else:
            pending += char
    tokens.extend(pending.split())
    return tokens


def _strip(text: str) -> str:
    return "".join(c for c in str(text).lower().strip() if c not in CMRC_PUNCTUATION)


def longest_common_substring(a: list[str], b: list[str]) -> int:
    """Length of the longest common contiguous run of two token lists."""
    best, previous = 0, [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b, start=1):
            if x == y:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def f1_score(prediction: str, answers: list[str]) -> float:
    """CMRC F1 of a prediction against gold answers (max over answers); 0 for no answers."""
    predicted = cmrc_tokens(prediction)
    best = 0.0
    for answer in answers:
        gold = cmrc_tokens(answer)
        overlap = longest_common_substring(gold, predicted)
        if overlap:
            precision, recall = overlap / len(predicted), overlap / len(gold)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def exact_match(prediction: str, answers: list[str]) -> float:
    """CMRC EM: 1.0 when the punctuation-stripped, lower-cased strings equal some gold answer."""
    stripped = _strip(prediction)
    return float(any(stripped == _strip(answer) for answer in answers))


def contains_answer(text: str, answers: list[str]) -> bool:
    """True when text contains some gold answer (compared punctuation-stripped)."""
    haystack = _strip(text)
    return any(_strip(answer) and _strip(answer) in haystack for answer in answers)


def reciprocal_rank(hits: list[bool]) -> float:
    """1/rank of the first hit, 0 when none."""
    return next((1.0 / rank for rank, hit in enumerate(hits, start=1) if hit), 0.0)

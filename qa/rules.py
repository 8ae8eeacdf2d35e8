"""Answers that cannot be right, whatever their score: the selector gives them confidence 0.

Each rule is a reason a well-aligned span still does not answer the question:
nothing of the question is in the passage; no span has the asked-for shape; the
passage is about another place; the count is of something else; the person found
does not hold the role asked about. The calibrator is fitted on the answers these
rules leave (see eval/train_answer_model.py).
"""

from __future__ import annotations

import numpy as np

from qa.answer_types import STRICT_TYPES, TITLES
from qa.calibration import CONFIDENCE_FEATURES
from qa.evidence import ANCHOR_CAP
from qa.question import Question, places_in
from qa.alignment import COPULAS
from qa.spans import FEATURES, Candidates

_F = {name: i for i, name in enumerate(FEATURES)}
_C = {name: i for i, name in enumerate(CONFIDENCE_FEATURES)}
# 个 stands in for any classifier (多少件 → 321个), and 万/亿 are magnitudes (多少万人 → 20万人).
_GENERIC_UNITS = ("个", "亿", "万", "千", "百")


def cannot_be_right(question: Question, spans: Candidates, best: int, features: np.ndarray, text: str) -> bool:
    """Whether the chosen span (index best, its text, its confidence features) is ruled out:
    nothing of the question in the passage (今天天气怎么样), no span of the asked-for shape (a time
    asked, none found), a passage about another place (株洲 asked, 徐州 found), a count in another
    unit (多少列 asked, 4.6倍 found), or a person asked for by role whose name does not follow it."""
    no_support = features[_C["passage_cover"]] == 0 and features[_C["sentence_cover"]] == 0
    shapeless = question.answer_type in STRICT_TYPES and not spans.typed[best]
    elsewhere = features[_C["entity_conflict"]] > 0
    other_unit = (
        question.answer_type == "quantity" and question.unit not in ("", *_GENERIC_UNITS)
        and bool(spans.typed[best]) and not text.endswith((question.unit, "个"))
    )
    return bool(no_support or shapeless or elsewhere or other_unit or role_unmatched(question, spans, best))


def role_unmatched(question: Question, spans: Candidates, best: int) -> bool:
    """A person asked for by role (株洲市委书记是谁) whose name does not follow that role in the text:
    阳卫国 after 市长, or a speaker label, does not answer who the 书记 or the 副市长 is."""
    asked = question.left.rstrip(COPULAS)
    role = next((title for title in TITLES if asked.endswith(title)), None)
    if question.answer_type != "person" or question.right not in ("", "名字", "姓名") or role is None:
        return False
    if asked[: -len(role)].endswith("副"):
        role = "副" + role  # a deputy is not the 市长 himself
    return spans.features[best, _F["left_exact"]] * ANCHOR_CAP < len(role)


def about_another_place(question: Question, chunk, title: str) -> bool:
    """A place the question names is absent from the passage's scope, which names another place
    instead (株洲 asked, a paragraph about 徐州 found). The scope is the chunk and its heading, and
    the article title too when the heading names no place of its own. Places are compared by their
    first two characters, so 徐州市 is 徐州 and 台湾地区 is 台湾."""
    asked = {place[:2].lower() for place in places_in(question.text)}
    label = chunk.heading if places_in(chunk.heading) else f"{title} {chunk.heading}"
    if all(place in f"{label} {chunk.text}".lower() for place in asked):
        return False
    named, position = {place[:2].lower() for place in places_in(label)}, 0
    for length, tag in chunk.tags:
        if tag == "ns":
            named.add(chunk.text[position : position + length][:2].lower())
        position += length
    return bool(named - asked)


def same_place(question: Question, passages: list, title) -> list:
    """The passages not about another place than the question's (株洲 asked: not the 徐州 sections),
    or all of them when every one is; title maps an article id to its title."""
    kept = [p for p in passages if not about_another_place(question, p.chunk, title(p.chunk.article_id))]
    return kept or passages

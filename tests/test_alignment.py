"""Alignment arrays: how positions of the evidence line up with the words around the question word."""

import numpy as np

from qa.evidence import ANCHOR_CAP, QuestionTerms
from qa.question import analyze
from qa.alignment import anchor_arrays, fuzzy_arrays


def test_fuzzy_alignment_stays_inside_the_clause():
    terms = QuestionTerms(analyze("有几个人被拘留"))
    text = "取保6人，刑拘2人。"
    _, right, _ = fuzzy_arrays(text, terms)
    after_six, after_two = text.index("6人") + 2, text.index("2人") + 2
    # 拘 and 人 follow 6人 only across the comma, in the next item: no support for 6人.
    assert right[after_six] == 0.0
    assert right[after_two] == 0.0
    left, _, _ = fuzzy_arrays(text, terms)
    assert left[text.index("2人")] == 0.0  # 刑拘 shares nothing with the question's left part 有


def test_left_anchor_skips_the_copula_and_spaces():
    terms = QuestionTerms(analyze("专访市长的记者是谁"))
    text = "本报记者 何芳"
    left, _ = anchor_arrays(text, terms)
    # "记者" ends right before the name, with a space between and without the 是 of 记者是谁.
    assert left[text.index("何芳")] * ANCHOR_CAP == 2
    assert np.count_nonzero(left) == 2  # at 者 and across the space; nowhere else

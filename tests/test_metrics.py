"""The CMRC 2018 metric on hand-worked cases."""

import pytest

from qa.evaluation.metrics import cmrc_tokens, contains_answer, exact_match, f1_score, longest_common_substring


def test_tokens_split_cjk_per_character_and_other_text_on_whitespace():
    assert cmrc_tokens("Hello World 你好，BERT模型") == ["hello", "world", "你", "好", "bert", "模", "型"]


def test_listed_punctuation_is_removed_before_tokenizing():
    # “ ” 《 》 、 - are all on the list; "bert-base" becomes one token.
    assert cmrc_tokens("《BERT-base》、“模型”") == ["bertbase", "模", "型"]


def test_exact_match_ignores_punctuation_and_case_only():
    assert exact_match("“中国动力谷”", ["中国动力谷"]) == 1.0
    assert exact_match("Nexon", ["NEXON"]) == 1.0
    assert exact_match("超31亿元", ["31亿元"]) == 0.0
    assert exact_match("王 伟", ["王伟"]) == 0.0  # inner spaces are not punctuation


def test_f1_uses_the_longest_common_substring():
    # prediction 超/31/亿/元 (4 tokens), gold 31/亿/元 (3): LCS 3 -> P 3/4, R 1 -> F1 6/7.
    assert f1_score("超31亿元", ["31亿元"]) == pytest.approx(6 / 7)
    # common tokens that are not contiguous do not count: 甲乙丙丁 vs 甲丙: LCS 1 -> P 1/4, R 1/2 -> F1 1/3.
    assert f1_score("甲乙丙丁", ["甲丙"]) == pytest.approx(1 / 3)


def test_f1_takes_the_best_gold_answer_and_mixed_text():
    # gold "USE v3 模型": use / v3 / 模 / 型; prediction "v3 模型": v3 / 模 / 型 -> P 1, R 3/4 -> F1 6/7.
    assert f1_score("v3 模型", ["毫不相干", "USE v3 模型"]) == pytest.approx(6 / 7)
    assert f1_score("无关", ["完全不同"]) == 0.0
    assert f1_score("", ["答案"]) == 0.0


def test_longest_common_substring_counts_tokens():
    assert longest_common_substring(list("abcde"), list("xbcdy")) == 3
    assert longest_common_substring([], list("abc")) == 0


def test_contains_answer_ignores_punctuation():
    assert contains_answer("加快建设“一城一谷一区一院”四大创新平台", ["一城一谷一区一院"])
    assert not contains_answer("加快建设四大创新平台", ["一城一谷一区一院"])

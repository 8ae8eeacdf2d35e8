"""Near-miss unanswerable training questions (eval/unanswerable_questions.py) on hand-made sentences."""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))

import unanswerable_questions as unanswerable  # noqa: E402

PASSAGE = "8月25日，北京市海淀区新开放了3个公园，区长李明说，明年还将再建5个。"


def test_names_are_found_with_their_kind():
    found = dict(unanswerable.names("李明在北京市海淀区考察"))
    assert found.get("李明") == "person" and found.get("北京市") == "place"
    assert unanswerable.names("今年新增多少个公园") == []


def test_the_pool_holds_each_name_once_by_kind():
    pool = unanswerable.name_pool(["上海市有多少个公园", "王芳在上海市说了什么", "杭州市有几座桥"])
    assert pool["place"] == ["上海市", "杭州市"] and pool["person"] == ["王芳"]


def test_a_name_the_passage_holds_is_swapped_for_one_it_does_not():
    pool = {"place": ["北京市", "上海市", "杭州市"], "person": ["王芳"]}
    for seed in range(20):
        question = unanswerable.swapped_question("北京市海淀区新开放了多少个公园", PASSAGE, ["3个"], pool,
                                                 random.Random(seed))
        # either place of the question, never for 北京市 (the passage holds it), exactly once
        assert question in {f"{a}{b}新开放了多少个公园" for a, b in
                            [("上海市", "海淀区"), ("杭州市", "海淀区"), ("北京市", "上海市"), ("北京市", "杭州市")]}


def test_no_swap_without_a_name_of_the_passage_or_of_the_answer():
    pool = {"place": ["上海市"], "person": ["王芳"]}
    rng = random.Random(0)
    # no name at all; a name the passage does not hold; the only name is the answer
    assert unanswerable.swapped_question("新开放了多少个公园", PASSAGE, ["3个"], pool, rng) is None
    assert unanswerable.swapped_question("杭州市新开放了多少个公园", PASSAGE, ["3个"], pool, rng) is None
    assert unanswerable.swapped_question("谁说明年还将再建5个公园", PASSAGE, ["李明"], pool, rng) is None
    # every replacement of the kind is in the passage too
    assert unanswerable.swapped_question("李明说明年再建多少个", PASSAGE, ["5个"], {"person": ["李明"]}, rng) is None

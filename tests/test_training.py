"""Pieces of the reader's training (eval/train_reader.py) on small hand-made inputs."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))

import train_reader  # noqa: E402

from qa.answer.encoding import encode_passage, encode_question  # noqa: E402
from qa.answer.vocabulary import CharVocabulary  # noqa: E402
from qa.tokenization import pos_tags  # noqa: E402

TEXT = "据统计，去年全市新增城镇就业岗位3.2万个，同比增长5%，城镇登记失业率控制在3.5%以内。" * 3
VOCABULARY = CharVocabulary.build([TEXT], min_count=1)


def test_a_training_window_keeps_the_whole_answer():
    question = encode_question("新增多少岗位", VOCABULARY)
    passage = encode_passage(TEXT, pos_tags(TEXT), question, VOCABULARY)
    first = TEXT.index("3.2万个")
    rng = random.Random(0)
    for _ in range(50):
        window, start, end = train_reader.crop(passage, first, first + 4, 20, rng)
        assert len(window.text) == 20 and window.text[start : end + 1] == "3.2万个"
        assert len(window.chars) == len(window.pos) == len(window.flags) == 20


def test_a_window_without_an_answer_stays_without_one():
    question = encode_question("新增多少岗位", VOCABULARY)
    passage = encode_passage(TEXT, pos_tags(TEXT), question, VOCABULARY)
    window, start, end = train_reader.crop(passage, -1, -1, 30, random.Random(1))
    assert (start, end) == (-1, -1) and window.text in TEXT


def test_ablated_feature_groups_are_zeroed():
    example = train_reader.Example("news", "新增多少岗位", ["3.2万个"], [train_reader.Passage(TEXT, pos_tags(TEXT))])
    asked, (passage,) = train_reader.encode_example(example, VOCABULARY, ("flags", "tags"))
    assert not passage.flags.any() and not passage.pos.any() and not asked.boundary.any()
    asked, (passage,) = train_reader.encode_example(example, VOCABULARY)
    assert passage.flags.any() and passage.pos.all()


def test_character_vectors_put_characters_of_like_contexts_together():
    texts = ["一月二日三月四日五月六日", "甲乙丙丁甲乙丙丁"] * 50
    vocabulary = CharVocabulary.build(texts, min_count=1)
    vectors = train_reader.pretrained_chars(texts, vocabulary, dim=4)
    unit = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-9)

    def similarity(a, b):
        return float(unit[vocabulary.ids(a)[0]] @ unit[vocabulary.ids(b)[0]])

    assert vectors.shape == (len(vocabulary), 4) and not vectors[:2].any()
    assert similarity("月", "日") > similarity("月", "乙")


def test_generated_questions_become_labelled_examples_and_their_absence_is_no_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the example cache (.qa-cache/) goes here
    articles = [{"id": f"a{n}", "paragraphs": [f"今年第{n}季度，全市新增就业岗位{n + 2}.{n}万个，其中高校毕业生{n + 1}万人。"]}
                for n in range(1, 4)]
    monkeypatch.setattr(train_reader, "training_articles", lambda shared: articles)
    examples = train_reader.generated_examples(tmp_path, 3, seed=1)
    assert examples and all(e.dataset == "generated_pd" for e in examples)
    for example in examples:
        answer = example.passages[0]
        assert answer.text[answer.start:answer.end] == example.answers[0]
    monkeypatch.setattr(train_reader, "training_articles", lambda shared: [])
    assert train_reader.generated_examples(tmp_path, 3, seed=2) == []


def test_swapped_twins_ask_their_answer_passage_about_another_name_and_are_unlabelled():
    text = "8月25日，北京市海淀区新开放了3个公园，区长李明说，明年还将再建5个。"
    start = text.index("3个")
    examples = [
        train_reader.Example("news", "北京市新开放了多少个公园", ["3个"],
                             [train_reader.Passage(text, pos_tags(text), start, start + 2)]),
        train_reader.Example("news", "上海市有多少座桥", ["9座"], [train_reader.Passage(text, pos_tags(text))]),
    ]
    twins = train_reader.swapped_examples(examples, share=1.0, seed=0)
    assert [t.question for t in twins] == ["上海市新开放了多少个公园"]  # the second has no answer passage
    assert twins[0].answers == [] and [(p.start, p.end) for p in twins[0].passages] == [(-1, -1)]
    assert twins[0].passages[0].text == text
    assert train_reader.swapped_examples(examples, share=0.0, seed=0) == []


def test_members_trained_side_by_side_equal_members_trained_one_after_another():
    question = "新增多少岗位"
    start = TEXT.index("3.2万个")
    examples = [train_reader.Example("news", question, ["3.2万个"],
                                     [train_reader.Passage(TEXT, pos_tags(TEXT), start, start + 5),
                                      train_reader.Passage(TEXT[:20], pos_tags(TEXT[:20]))])] * 4
    encoded = train_reader.encode(examples, VOCABULARY)
    options = dict(dev_examples={"news": examples[:1]}, vocabulary=VOCABULARY,
                   config=train_reader.ReaderConfig(vocabulary_size=len(VOCABULARY), hidden=8, char_dim=8),
                   epochs=2, batch=2, lr=3e-3, window=40)
    threads = torch.get_num_threads()
    try:
        apart = train_reader.train_members(encoded, [1, 2], 2, 2, **options)  # one thread each
        after = train_reader.train_members(encoded, [1, 2], 1, 1, **options)
    finally:
        torch.set_num_threads(threads)
    for (side, side_history), (alone, alone_history) in zip(apart, after):
        assert [h["loss"] for h in side_history] == [h["loss"] for h in alone_history]
        for name, weights in side.state_dict().items():
            assert torch.equal(weights, alone.state_dict()[name]), name
    first, second = (network.state_dict() for network, _ in apart)
    assert any(not np.allclose(first[name].numpy(), second[name].numpy()) for name in first)  # seeds differ



def test_the_crossing_head_is_fitted_to_say_which_questions_want_a_clause_break():
    why_start, count_start = TEXT.index("同比增长"), TEXT.index("3.2万个")
    examples = []
    for _ in range(6):  # 为什么 answers run over a comma here, 多少 answers do not
        examples.append(train_reader.Example("news", "为什么控制失业率", [TEXT[why_start:why_start + 15]],
                                             [train_reader.Passage(TEXT, pos_tags(TEXT), why_start, why_start + 15)]))
        examples.append(train_reader.Example("news", "新增多少岗位", ["3.2万个"],
                                             [train_reader.Passage(TEXT, pos_tags(TEXT), count_start, count_start + 5)]))
    assert "，" in TEXT[why_start:why_start + 15]
    torch.manual_seed(0)
    network = train_reader.ReaderNetwork(train_reader.ReaderConfig(vocabulary_size=len(VOCABULARY), hidden=8, char_dim=8))
    assert network.crossing.weight.abs().sum() == 0  # a new network's head is neutral
    fit = train_reader.fit_crossing([network], VOCABULARY, examples, {"news": examples[:2]})
    assert fit["rows"] == 12 and fit["crossing_share"] == 0.5
    pairs, crosses = train_reader.crossing_rows(examples[:2], VOCABULARY)
    logits = network.crossing(torch.from_numpy(train_reader.summaries(network, pairs))).squeeze(-1)
    assert crosses.tolist() == [True, False]
    assert logits[0] > 0 > logits[1]


def test_the_crossing_loss_trains_the_crossing_head_only_when_weighted():
    start = TEXT.index("3.2万个")
    examples = [train_reader.Example("news", "新增多少岗位", ["3.2万个"],
                                     [train_reader.Passage(TEXT, pos_tags(TEXT), start, start + 5)])]
    rows = train_reader.epoch_rows(train_reader.encode(examples, VOCABULARY), random.Random(0), window=40)
    for weight in (0.0, 1.0):
        network = train_reader.ReaderNetwork(train_reader.ReaderConfig(vocabulary_size=len(VOCABULARY), hidden=8,
                                                                       char_dim=8, dropout=0.0))
        unweighted = float(train_reader.loss_of(network, rows).detach())
        loss = train_reader.loss_of(network, rows, weight)
        loss.backward()
        if weight:  # a zero head says 0.5: the loss gains log 2 per answer row, and the head a gradient
            assert float(loss.detach()) == pytest.approx(unweighted + np.log(2), abs=1e-5)
            assert network.crossing.bias.grad is not None and float(network.crossing.bias.grad) > 0
        else:
            assert float(loss.detach()) == pytest.approx(unweighted, abs=1e-6)
            assert network.crossing.bias.grad is None

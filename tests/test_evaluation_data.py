"""Evaluation data handling: splits by article, corpora named from the shared folder, dialogue sets."""

from __future__ import annotations

import json

import pytest

from qa.evaluation.datasets import load_eval_set
from qa.evaluation.shared_corpus import SharedDataMissing, load_spec_corpus, spec_for
from qa.evaluation.splits import group_of, select, split_of


def test_splits_are_stable_and_keep_a_drcd_topic_on_one_side():
    assert group_of("长江 (DRCD dev)") == group_of("长江 (DRCD test)") == "长江"
    assert split_of("drcd", "长江 (DRCD dev)") == split_of("drcd", "长江 (DRCD test)")
    assert split_of("news", "news-train-0001") == split_of("news", "news-train-0001")
    shares = [split_of("any", f"article-{i}") for i in range(2000)]
    assert 0.75 < shares.count("train") / 2000 < 0.85
    assert shares.count("dev") > 150 and shares.count("test") > 150


def test_select_keeps_only_the_split_s_documents():
    data = {"version": "1", "data": [{"title": f"t{i}", "paragraphs": []} for i in range(50)]}
    dev = select(data, "set", "dev")
    assert all(split_of("set", d["title"]) == "dev" for d in dev["data"])
    assert len(select(data, "set", "train")["data"]) + len(dev["data"]) + len(select(data, "set", "test")["data"]) == 50
    with pytest.raises(ValueError):
        select(data, "set", "validation")


def _shared(tmp_path):
    (tmp_path / "shared" / "corpora").mkdir(parents=True)
    rows = [
        {"id": "a1", "date": "20230701", "page": 5, "title": "港口吞吐量增长", "paragraphs": ["前5月港口吞吐量增长7.9%。", "  "]},
        {"id": "a2", "date": "20230702", "page": 1, "title": "别的新闻", "paragraphs": ["另一篇。"]},
        {"id": "a3", "date": "20230703", "page": 2, "title": "不要的", "paragraphs": ["不在语料里。"]},
    ]
    (tmp_path / "shared" / "corpora" / "news.jsonl").write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    (tmp_path / "set.corpus.json").write_text(json.dumps({"source": "news.jsonl", "articles": ["a1"], "distractors": ["a2"]}))
    return tmp_path / "shared"


def test_a_named_corpus_is_read_from_the_shared_folder(tmp_path):
    shared = _shared(tmp_path)
    (tmp_path / "set_test.jsonl").write_text(
        '{"question": "前5月港口吞吐量增长多少", "answers": ["7.9%"], "article": "a1"}\n', "utf-8")
    assert spec_for(tmp_path / "set_test.jsonl") == tmp_path / "set.corpus.json"
    assert spec_for(tmp_path / "other.jsonl") is None
    corpus = load_spec_corpus(tmp_path / "set.corpus.json", shared)
    assert [a.id for a in corpus.articles] == ["a1", "a2"]
    assert corpus.articles[0].text == "前5月港口吞吐量增长7.9%。" and "2023-07-01 第5版" in corpus.articles[0].source
    eval_set = load_eval_set(tmp_path / "set_test.jsonl", shared=shared)
    assert eval_set.corpus is not None and len(eval_set.corpus.articles) == 2
    assert eval_set.items[0].article == "a1" and eval_set.items[0].gold_article is None


def test_the_longest_named_corpus_wins(tmp_path):
    (tmp_path / "set.corpus.json").write_text("{}")
    (tmp_path / "set_dev.corpus.json").write_text("{}")
    assert spec_for(tmp_path / "set_dev.jsonl") == tmp_path / "set_dev.corpus.json"
    assert spec_for(tmp_path / "set_dev_dialogues.jsonl") == tmp_path / "set_dev.corpus.json"
    assert spec_for(tmp_path / "set_dialogues.jsonl") == tmp_path / "set.corpus.json"
    assert spec_for(tmp_path / "set.jsonl") == tmp_path / "set.corpus.json"


def test_a_missing_shared_corpus_is_a_clear_error(tmp_path):
    _shared(tmp_path)
    with pytest.raises(SharedDataMissing, match="QA_SHARED_DIR"):
        load_spec_corpus(tmp_path / "set.corpus.json", tmp_path / "elsewhere")


def test_dialogue_lines_become_ordered_turns(tmp_path):
    path = tmp_path / "talk.jsonl"
    path.write_text(json.dumps({"id": "d1", "turns": [{"message": "株洲签约了多少个项目？", "answers": ["73个"]},
                                                      {"message": "合同引资总额呢？", "answers": ["202.4亿元"]}]},
                               ensure_ascii=False), "utf-8")
    items = load_eval_set(path).items
    assert [(i.id, i.dialogue, i.kind) for i in items][1] == ("d1.2", "d1", "follow-up")
    assert items[0].kind != "follow-up"

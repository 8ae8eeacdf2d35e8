import json

import pytest

from qa.corpus import Corpus, load_corpus


def test_seed_corpus_loads_with_titles_and_sources(settings):
    corpus = load_corpus(settings.corpus_dir)
    assert corpus.problems == []
    ids = {a.id for a in corpus.articles}
    assert ids == {"000_5eb15fd4d41f17c5", "004_302674c14a7d71f0"}
    xuzhou = next(a for a in corpus.articles if a.id.startswith("000"))
    assert "周铁根" in xuzhou.title and xuzhou.source


def test_gb18030_is_read_and_undecodable_files_are_reported_by_name(tmp_path):
    (tmp_path / "utf8.txt").write_text("徐州缓缴社保超31亿元。", encoding="utf-8")
    (tmp_path / "gbk.txt").write_bytes("株洲签约项目73个。".encode("gb18030"))
    (tmp_path / "broken.txt").write_bytes(b"\xff\xfe\x00\xd8\x81\x81\x30")
    corpus = load_corpus(tmp_path)
    texts = {a.id: a.text for a in corpus.articles}
    assert texts["gbk"] == "株洲签约项目73个。"
    assert texts["utf8"] == "徐州缓缴社保超31亿元。"
    assert [p.path for p in corpus.problems] == ["broken.txt"]
    assert "UTF-8" in corpus.problems[0].message


def test_markdown_front_matter_and_metadata_file_give_titles(tmp_path):
    (tmp_path / "a.md").write_text("---\ntitle: 标题甲\nsource: 某报\n---\n# 小标题\n正文。", encoding="utf-8")
    (tmp_path / "b.txt").write_text("第一行\n正文。", encoding="utf-8")
    (tmp_path / "c.txt").write_text("正文。", encoding="utf-8")
    (tmp_path / "metadata.json").write_text(json.dumps({"c.txt": {"title": "标题丙"}}), encoding="utf-8")
    titles = {a.id: (a.title, a.source) for a in load_corpus(tmp_path).articles}
    assert titles == {"a": ("标题甲", "某报"), "b": ("第一行", ""), "c": ("标题丙", "")}


def test_fingerprint_changes_with_the_text(tmp_path):
    (tmp_path / "a.txt").write_text("甲。", encoding="utf-8")
    first = load_corpus(tmp_path).fingerprint()
    (tmp_path / "a.txt").write_text("乙。", encoding="utf-8")
    assert load_corpus(tmp_path).fingerprint() != first


def test_files_differing_only_in_suffix_get_distinct_ids(tmp_path):
    (tmp_path / "a.txt").write_text("甲。", encoding="utf-8")
    (tmp_path / "a.md").write_text("乙。", encoding="utf-8")
    corpus = load_corpus(tmp_path)
    assert {a.id: a.text for a in corpus.articles} == {"a": "乙。", "a-2": "甲。"}


def test_a_corpus_refuses_two_articles_with_one_id(tmp_path):
    (tmp_path / "a.txt").write_text("甲。", encoding="utf-8")
    article = load_corpus(tmp_path).articles[0]
    with pytest.raises(ValueError, match="article ids must be unique"):
        Corpus(articles=[article, article.model_copy(update={"text": "乙。"})])

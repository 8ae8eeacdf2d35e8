"""Corpus hygiene on real folders and real builds: bad names, bad and empty files, exact duplicates."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from qa.building import build_index
from qa.chunking import chunk_article
from qa.corpus import load_corpus
from qa.engine import Engine

INTERVIEWS = "000_5eb15fd4d41f17c5.txt"  # the Xuzhou and Zhuzhou interviews
REPORT = "004_302674c14a7d71f0.txt"  # a report on Xuzhou's business climate


def test_a_file_name_that_is_not_utf8_is_reported_by_name_and_skipped(tmp_path, settings):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(settings.corpus_dir / REPORT, corpus / "good.txt")
    (corpus / os.fsdecode(b"caf\xe9.txt")).write_text("株洲签约项目73个。", encoding="utf-8")
    loaded = load_corpus(corpus)
    assert [a.path for a in loaded.articles] == ["good.txt"]
    assert [(p.path, "name" in p.message) for p in loaded.problems] == [("caf\\xe9.txt", True)]
    manifest = build_index(corpus, tmp_path / "index", settings, progress=False)  # used to fail after encoding
    assert manifest.articles == 1 and manifest.problems[0].path == "caf\\xe9.txt"


def test_empty_files_are_reported_and_not_counted(tmp_path):
    (tmp_path / "a.txt").write_text("徐州缓缴社保超31亿元。", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blank.md").write_text("---\ntitle: 空\n---\n\n  \n", encoding="utf-8")
    loaded = load_corpus(tmp_path)
    assert [a.path for a in loaded.articles] == ["a.txt"]
    assert sorted((p.path, p.message) for p in loaded.problems) == [
        ("blank.md", "empty (no text); skipped"), ("empty.txt", "empty (no text); skipped")
    ]


def test_qa_index_reports_each_bad_file_once_and_counts_only_real_articles(tmp_path, settings):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(settings.corpus_dir / REPORT, corpus / "good.txt")
    (corpus / "broken.txt").write_bytes(b"\xff\xfe\x00\xd8\x81\x81\x30")
    (corpus / "empty.txt").write_bytes(b"")
    result = subprocess.run(
        [sys.executable, "-m", "qa.cli", "index", str(corpus), "--out", str(tmp_path / "index")],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("broken.txt") == 1 and result.stderr.count("empty.txt") == 1
    assert "indexed 1 articles" in result.stdout


def test_repeated_articles_and_paragraphs_are_indexed_once_and_do_not_crowd_out_passages(tmp_path, settings):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(settings.corpus_dir / REPORT, corpus / REPORT)
    for number in range(10):
        shutil.copy(settings.corpus_dir / INTERVIEWS, corpus / f"copy{number}.txt")
    # An article of its own that quotes one of the Xuzhou paragraphs word for word.
    interviews = next(a for a in load_corpus(settings.corpus_dir).articles if a.path == INTERVIEWS)
    quoted = next(c.text for c in chunk_article(interviews) if "超31亿元" in c.text)
    own = "这是转载者自己写的一段话，说的是另外一件事情，和徐州的社保政策没有任何关系，只是凑够一个段落的长度。"
    (corpus / "quote.txt").write_text(f"{own}\n{quoted}\n{own.replace('另外', '别的')}\n", encoding="utf-8")

    manifest = build_index(corpus, tmp_path / "index", settings, progress=False)
    problems = {p.path: p.message for p in manifest.problems}
    assert manifest.articles == 3
    assert all("same text as copy0.txt" in problems[f"copy{n}.txt"] for n in range(1, 10))
    assert "1 paragraph repeating earlier text" in problems["quote.txt"]

    answer = Engine.load(tmp_path / "index", settings).ask("徐州缓缴社保多少", top_k=5)
    texts = [p.text for p in answer.passages]
    assert len(texts) == len(set(texts)) == 5
    assert sum("超31亿元" in text for text in texts) == 1, "the repeated paragraph is one passage, not five"

"""An index older than its corpus folder: reported by the engine, the command line and /api/health, never rebuilt."""

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from qa.api.app import create_app
from qa.building import build_index
from qa.engine import Engine

ARTICLES = {
    "changjiang.txt": "长江\n长江是中国第一长河，全长约6300公里，发源于青藏高原的唐古拉山脉。",
    "huanghe.txt": "黄河\n黄河全长约5464公里，是中国第二长河，最终注入渤海。",
}


@pytest.fixture
def built(tmp_path, settings):
    """Settings whose corpus folder holds two articles and whose index was built from them."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, text in ARTICLES.items():
        (corpus / name).write_text(text, encoding="utf-8")
    current = settings.model_copy(update={"corpus_dir": corpus, "index_dir": tmp_path / "index"})
    build_index(corpus, current.index_dir, current, progress=False)
    return current


def add_article(settings) -> None:
    (settings.corpus_dir / "zhujiang.txt").write_text("珠江\n珠江是中国南方的大河，注入南海。", encoding="utf-8")


def test_an_unchanged_corpus_gives_no_warning(built):
    assert Engine.load(built.index_dir, built, check_corpus=True).stale_warning is None


def test_a_file_touched_but_not_changed_gives_no_warning(built):
    path = built.corpus_dir / "huanghe.txt"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert Engine.load(built.index_dir, built, check_corpus=True).stale_warning is None


@pytest.mark.parametrize("change", ["add", "edit", "remove"])
def test_a_changed_corpus_gives_a_warning_naming_both_folders(built, change, caplog):
    if change == "add":
        add_article(built)
    elif change == "edit":
        (built.corpus_dir / "huanghe.txt").write_text("黄河\n黄河全长约5464公里，最终注入渤海。", encoding="utf-8")
    else:
        (built.corpus_dir / "huanghe.txt").unlink()
    engine = Engine.load(built.index_dir, built, check_corpus=True)
    warning = engine.stale_warning
    assert warning and str(built.index_dir) in warning and str(built.corpus_dir) in warning
    assert f"qa index {built.corpus_dir} --out {built.index_dir}" in warning
    assert warning in caplog.text, "the warning is logged"
    answer = engine.ask("黄河最终注入什么海？")
    assert "渤海" in answer.answer and "是中国第二长河" in answer.sentence, "the old index is still served"
    assert (built.index_dir / "manifest.json").is_file() and len(engine.articles()) == 2, "and not rebuilt"


def test_health_reports_a_stale_index(built):
    with TestClient(create_app(built)) as client:
        health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["stale"] is False and health["warnings"] == []
    add_article(built)
    with TestClient(create_app(built)) as client:
        health = client.get("/api/health").json()
    assert health["status"] == "ok", "a stale index still answers"
    assert health["stale"] is True and "qa index" in health["warnings"][0]


def test_the_command_line_warns_on_stderr(built):
    def ask():
        env = {**os.environ, "QA_CORPUS_DIR": str(built.corpus_dir)}
        return subprocess.run(
            [sys.executable, "-m", "qa.cli", "ask", "黄河最终注入什么海？", "--index", str(built.index_dir)],
            capture_output=True, text=True, env=env, timeout=300,
        )

    fresh = ask()
    assert fresh.returncode == 0 and "qa index" not in fresh.stderr
    add_article(built)
    stale = ask()
    assert stale.returncode == 0, stale.stderr
    assert "渤海" in stale.stdout
    assert f"warning: the index {built.index_dir}/ was built from other articles" in stale.stderr
    assert f"qa index {built.corpus_dir} --out {built.index_dir}" in stale.stderr

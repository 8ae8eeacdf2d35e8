"""Article texts read back for the article view, and the refusal to show an article edited since indexing."""

import shutil

import pytest

from qa.articles import ArticleChangedError, ArticleNotFoundError, indexed_text

ARTICLE = "000_5eb15fd4d41f17c5"


def test_the_text_is_read_from_the_first_corpus_that_holds_it(engine, settings, tmp_path):
    info = engine.index.store.article(ARTICLE)
    text = indexed_text(info, [tmp_path, settings.corpus_dir])  # tmp_path has no copy: skipped
    assert text == (settings.corpus_dir / f"{ARTICLE}.txt").read_text("utf-8")


def test_an_edited_or_missing_article_is_refused(engine, settings, tmp_path):
    info = engine.index.store.article(ARTICLE)
    with pytest.raises(ArticleChangedError, match="no longer in the corpus"):
        indexed_text(info, [tmp_path])
    shutil.copy(settings.corpus_dir / f"{ARTICLE}.txt", tmp_path)
    (tmp_path / f"{ARTICLE}.txt").write_text("改过的文章", "utf-8")
    with pytest.raises(ArticleChangedError, match="changed since it was indexed"):
        indexed_text(info, [tmp_path, settings.corpus_dir])


def test_an_unknown_article(engine, settings):
    with pytest.raises(ArticleNotFoundError):
        indexed_text(engine.index.store.article("nope"), [settings.corpus_dir])

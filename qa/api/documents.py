"""One article's text (``GET /api/documents/{id}``), for the page's article view: the answer's
offsets (``source.start``, ``source.sentence_start``, ...) point into this text."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException

from qa.api.deps import get_engine
from qa.api.schemas import DocumentText, ErrorResponse
from qa.articles import ArticleChangedError, ArticleNotFoundError, indexed_text
from qa.engine import Engine

router = APIRouter(prefix="/api/documents", responses={404: {"model": ErrorResponse}, 409: {"model": ErrorResponse}})


@router.get("/{article_id:path}", response_model=DocumentText, summary="One article's text")
def document(article_id: str, engine: Engine = Depends(get_engine)) -> DocumentText:
    """The article's title, source and full text as indexed; 404 for an unknown id, 409 when the
    article's file has changed since indexing (its offsets would no longer hold)."""
    # Where the index was built from first; the configured corpus for indexes built elsewhere.
    roots = [Path(p) for p in (engine.index.manifest.corpus_dir, engine.settings.corpus_dir) if str(p)]
    article = engine.index.store.article(article_id)
    try:
        text = indexed_text(article, roots)
    except ArticleNotFoundError as error:
        raise HTTPException(status_code=404, detail=f"{error}: {article_id}") from error
    except ArticleChangedError as error:
        raise HTTPException(status_code=409, detail=str(error)) from error
    return DocumentText(**article.model_dump(), text=text)

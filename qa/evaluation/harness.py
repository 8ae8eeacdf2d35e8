"""``evaluate``: load a question set, get an engine for it, run it and summarise.

JSONL sets run against an existing index (built from the corpus when missing), or
over the shared corpus they name. SQuAD sets and named corpora are indexed into a temporary index (a folder,
or Milvus collections: qa.backends) with the current settings first;
that build is timed and reported as ``index_build_seconds``.
"""

from __future__ import annotations

import time
from pathlib import Path

from qa.backends import get_backend
from qa.engine import Engine
from qa.evaluation.datasets import load_eval_set
from qa.evaluation.runner import Prediction, run
from qa.evaluation.summary import summarize
from qa.settings import Settings


def run_settings(settings: Settings, index_manifest) -> dict:
    """The settings that shape results, recorded with them."""
    return {
        "encoder": index_manifest.encoder,
        "dense_index": index_manifest.dense_index,
        "chunk_max_chars": index_manifest.chunk_max_chars,
        "chunk_min_chars": index_manifest.chunk_min_chars,
        "chunks": index_manifest.chunks,
        "fusion": settings.fusion,
        "dense_weight": settings.dense_weight,
        "rrf_k": settings.rrf_k,
        "candidates": settings.candidates,
        "top_k": settings.top_k,
        "abstain_threshold": settings.abstain_threshold,
        "reranker_model": settings.reranker_model,
        "reader_model": settings.reader_model,
    }


def evaluate(
    path: str | Path, settings: Settings, index_dir: str | Path | None = None, limit: int | None = None,
    progress: bool = True, split: str | None = None, model: dict | None = None,
) -> tuple[dict, list[Prediction]]:
    """Evaluate the engine on a question file (one split of it, for SQuAD files); returns the result
    object and every prediction. model replaces the shipped reader bundle (training uses this)."""
    eval_set = load_eval_set(path, split, settings.shared_dir)
    items = eval_set.items[:limit] if limit else eval_set.items
    if eval_set.corpus is None:
        # Runs over the existing index.
        engine = Engine.load(index_dir, settings, build_if_missing=True, check_corpus=True, model=model)
        return _score(engine, items, engine.index.manifest.build_seconds, settings, progress)
    backend = get_backend(settings)
    with backend.scratch() as target:  # a temporary folder, or temporary Milvus collections
        started = time.perf_counter()
        backend.build(eval_set.corpus, target, progress=progress)
        build_seconds = time.perf_counter() - started
        engine = Engine.load(target, settings, model=model)
        return _score(engine, items, build_seconds, settings, progress)


def _score(engine: Engine, items, build_seconds: float, settings: Settings, progress: bool):
    predictions = run(engine, items, progress=progress)
    return summarize(predictions, build_seconds, run_settings(settings, engine.index.manifest)), predictions

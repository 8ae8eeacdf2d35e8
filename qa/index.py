"""The on-disk index as a whole: build it from a corpus atomically, load it with checks.

Layout of an index folder::

    manifest.json   what it was built from and with (written last)
    dense.faiss     FAISS index of chunk embeddings
    bm25/           bm25s index over jieba tokens, plus ids.npy
    chunks.sqlite   articles and chunks with offsets and POS tags

A build writes into a temporary sibling folder and renames it into place, so a
crash never leaves a half-written index where a good one was.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from qa.chunking import chunk_article
from qa.corpus import Corpus, file_stamps, load_corpus
from qa.dense import DenseIndex
from qa.encoders import Encoder, load_encoder
from qa.manifest import IndexMismatchError, Manifest, record_files
from qa.settings import Settings
from qa.sparse import SparseIndex
from qa.store import ChunkStore
from qa.tokenization import TOKENIZER_NAME, pos_tags, tokenize

log = logging.getLogger(__name__)

DENSE_FILE = "dense.faiss"
SPARSE_DIR = "bm25"
STORE_FILE = "chunks.sqlite"


def index_text(title: str, heading: str, text: str) -> str:
    """The text that represents a chunk to both retrievers: article title, section heading, body.

    Titles and headings name what a paragraph is about (an encyclopedia entry's
    subject, the interviewee of a column) even where the paragraph itself does not;
    adding them raised CMRC 2018 recall@1 from 0.961 to 0.973 (eval/RESULTS.md).
    """
    return "\n".join(part for part in (title, heading, text) if part)


def build_index(
    corpus: Corpus | str | Path, out_dir: str | Path, settings: Settings, progress: bool = True
) -> Manifest:
    """Build an index of corpus (a Corpus or a folder) into out_dir, replacing any index there."""
    started = time.perf_counter()
    if isinstance(corpus, Corpus):
        corpus_dir, corpus_files = "", {}
    else:
        # Stamped before reading: a file changed during the build then shows as changed when loading.
        corpus_dir, corpus_files = str(corpus), file_stamps(corpus)
        corpus = load_corpus(corpus)
    for problem in corpus.problems:
        log.warning("skipped %s: %s", problem.path, problem.message)
    if not corpus.articles:
        raise ValueError(f"no readable articles (.txt, .md) in {corpus_dir or 'the corpus'}")
    encoder = load_encoder(settings.embed_model)

    chunks, titles = [], {a.id: a.title for a in corpus.articles}
    for article in corpus.articles:
        chunks.extend(chunk_article(article, settings.chunk_max_chars, settings.chunk_min_chars))
    for number, chunk in enumerate(chunks):
        chunk.id = number
    ids = np.arange(len(chunks), dtype=np.int64)
    texts = [index_text(titles[c.article_id], c.heading, c.text) for c in chunks]
    bar = dict(disable=not progress or len(chunks) < 1000, unit="chunk")
    tokens = [tokenize(t) for t in tqdm(texts, desc="tokenizing", **bar)]
    tags = [pos_tags(c.text) for c in tqdm(chunks, desc="tagging", **bar)]
    vectors = encoder.encode(texts, batch_size=settings.encode_batch_size, progress=progress and None)

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        DenseIndex.build(vectors, ids, settings.dense_index).save(staging / DENSE_FILE)
        SparseIndex.build(tokens, ids).save(staging / SPARSE_DIR)
        ChunkStore.write(staging / STORE_FILE, corpus.articles, chunks, tags)
        manifest = Manifest(
            encoder=encoder.name,
            dim=encoder.dim,
            tokenizer=TOKENIZER_NAME,
            dense_index=settings.dense_index,
            chunk_max_chars=settings.chunk_max_chars,
            chunk_min_chars=settings.chunk_min_chars,
            corpus_dir=corpus_dir,
            corpus_fingerprint=corpus.fingerprint(),
            corpus_files=corpus_files,
            articles=len(corpus.articles),
            chunks=len(chunks),
            built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            build_seconds=round(time.perf_counter() - started, 3),
            problems=corpus.problems,
            files=record_files(staging),
        )
        manifest.save(staging)
        _swap_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _swap_into_place(staging: Path, target: Path) -> None:
    """Replace target with staging; the old index stays intact until the new one is in place."""
    retired = target.parent / f".{target.name}.old-{os.getpid()}"
    if target.exists():
        os.replace(target, retired)
    os.replace(staging, target)
    shutil.rmtree(retired, ignore_errors=True)


def _recover(target: Path) -> None:
    """If a crash fell between the two renames of a swap, put the retired index back."""
    if not target.exists():
        retired = sorted(target.parent.glob(f".{target.name}.old-*"))
        if retired:
            os.replace(retired[-1], target)


@dataclass
class HybridIndex:
    """A loaded index: manifest, dense and sparse halves, chunk store and the query encoder."""

    folder: Path
    manifest: Manifest
    dense: DenseIndex
    sparse: SparseIndex
    store: ChunkStore
    encoder: Encoder

    @classmethod
    def load(cls, folder: str | Path, encoder_name: str | None = None, verify: bool = True) -> "HybridIndex":
        """Load an index, refusing one built with another encoder or format, or damaged."""
        folder = Path(folder)
        _recover(folder)
        manifest = Manifest.load(folder)
        manifest.check_encoder(encoder_name or manifest.encoder)
        manifest.check_files(folder, hashes=verify)
        encoder = load_encoder(manifest.encoder)
        manifest.check_encoder(encoder.name, encoder.dim)
        try:
            dense = DenseIndex.load(folder / DENSE_FILE)
            sparse = SparseIndex.load(folder / SPARSE_DIR)
        except Exception as error:  # faiss and bm25s raise assorted types on bad files
            raise IndexMismatchError(f"cannot read the index in {folder} ({error}); rebuild with `qa index`") from error
        if dense.dim != manifest.dim:
            raise IndexMismatchError(f"{folder / DENSE_FILE} holds {dense.dim}-d vectors, manifest says {manifest.dim}")
        return cls(folder, manifest, dense, sparse, ChunkStore(folder / STORE_FILE), encoder)

    def stale_warning(self, corpus_dir: str | Path) -> str | None:
        """A warning for people when the articles in corpus_dir are not those this index was built from, else None.

        The index is still served as it is: rebuilding is left to `qa index`, nothing is deleted.
        """
        corpus_dir = Path(corpus_dir)
        if not corpus_dir.is_dir():
            return None  # an index served without its corpus: nothing to compare with
        if not self.manifest.corpus_changed(corpus_dir):
            return None
        return (
            f"the index {self.folder}/ was built from other articles than those now in {corpus_dir}/ "
            f"(articles added, changed or removed since {self.manifest.built_at}); answers come from the old "
            f"articles until you rebuild it: run `qa index {corpus_dir} --out {self.folder}`"
        )

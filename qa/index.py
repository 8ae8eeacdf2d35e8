"""The on-disk index as a whole: build it from a corpus atomically, load it with checks.

Layout of an index folder::

    manifest.json   what it was built from and with (written last)
    dense.faiss     FAISS index of chunk embeddings
    bm25/           bm25s index over jieba tokens, plus ids.npy
    chunks.sqlite   articles and chunks with offsets and POS tags

A build writes into a temporary sibling folder and swaps it into place, so a
crash never leaves a half-written index where a good one was; it only ever
replaces an empty folder or an index of this program (qa.folders).
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from qa.chunking import chunk_article
from qa.corpus import Corpus, CorpusProblem, file_stamps, load_corpus
from qa.dense import DenseIndex
from qa.duplicates import drop_repeated_articles, drop_repeated_chunks
from qa.encoders import Encoder, load_encoder
from qa.folders import check_index_target, clean_leftovers, staging_folder, swap_into_place
from qa.manifest import IndexMismatchError, Manifest, new_generation, record_files
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


def _report(problems: list[CorpusProblem]) -> None:
    """Log each file that was skipped or shortened, once."""
    for problem in problems:
        log.warning("%s: %s", problem.path, problem.message)


def build_index(
    corpus: Corpus | str | Path, out_dir: str | Path, settings: Settings, progress: bool = True
) -> Manifest:
    """Build an index of corpus (a Corpus or a folder) into out_dir, replacing any index there.

    out_dir must be new, empty or an index of this program, and must not be or hold
    the corpus (qa.folders.UnsafeFolderError otherwise); it is checked before the work
    starts and again just before the new index is swapped in.
    """
    started = time.perf_counter()
    if isinstance(corpus, Corpus):
        corpus_dir, corpus_files = "", {}
    else:
        # Stamped before reading: a file changed during the build then shows as changed when loading.
        corpus_dir, corpus_files = str(corpus), file_stamps(corpus)
    out_dir = check_index_target(out_dir, corpus_dir or None)
    clean_leftovers(out_dir)
    if not isinstance(corpus, Corpus):
        corpus = load_corpus(corpus)
    articles, repeated = drop_repeated_articles(corpus.articles)
    if not articles:
        _report(corpus.problems + repeated)
        raise ValueError(f"no readable articles (.txt, .md) in {corpus_dir or 'the corpus'}")
    encoder = load_encoder(settings.embed_model)

    chunks, titles = [], {a.id: a.title for a in articles}
    for article in articles:
        chunks.extend(chunk_article(article, settings.chunk_max_chars, settings.chunk_min_chars))
    chunks, repeated_paragraphs = drop_repeated_chunks(chunks, {a.id: a.path for a in articles})
    problems = corpus.problems + repeated + repeated_paragraphs
    _report(problems)
    for number, chunk in enumerate(chunks):
        chunk.id = number
    ids = np.arange(len(chunks), dtype=np.int64)
    texts = [index_text(titles[c.article_id], c.heading, c.text) for c in chunks]
    bar = dict(disable=not progress or len(chunks) < 1000, unit="chunk")
    tokens = [tokenize(t) for t in tqdm(texts, desc="tokenizing", **bar)]
    tags = [pos_tags(c.text) for c in tqdm(chunks, desc="tagging", **bar)]
    vectors = encoder.encode(texts, batch_size=settings.encode_batch_size, progress=progress and None)

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_folder(out_dir)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        DenseIndex.build(vectors, ids, settings.dense_index).save(staging / DENSE_FILE)
        SparseIndex.build(tokens, ids).save(staging / SPARSE_DIR)
        ChunkStore.write(staging / STORE_FILE, articles, chunks, tags)
        manifest = Manifest(
            generation=new_generation(),
            encoder=encoder.name,
            dim=encoder.dim,
            tokenizer=TOKENIZER_NAME,
            dense_index=settings.dense_index,
            chunk_max_chars=settings.chunk_max_chars,
            chunk_min_chars=settings.chunk_min_chars,
            corpus_dir=corpus_dir,
            corpus_fingerprint=corpus.fingerprint(),
            corpus_files=corpus_files,
            articles=len(articles),
            chunks=len(chunks),
            built_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            build_seconds=round(time.perf_counter() - started, 3),
            problems=problems,
            files=record_files(staging),
        )
        manifest.save(staging)
        check_index_target(out_dir, corpus_dir or None)  # the folder may have changed while we encoded
        swap_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


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
        if not folder.exists():
            clean_leftovers(folder)  # a crash between the two renames of a swap left the index set aside
        manifest = Manifest.load(folder)
        manifest.check_encoder(encoder_name or manifest.encoder)
        manifest.check_files(folder, hashes=verify)
        encoder = load_encoder(manifest.encoder)
        manifest.check_encoder(encoder.name, encoder.dim)
        try:
            dense = DenseIndex.load(folder / DENSE_FILE)
            sparse = SparseIndex.load(folder / SPARSE_DIR)
            store = ChunkStore(folder / STORE_FILE)
        except Exception as error:  # faiss, bm25s and sqlite3 raise assorted types on bad files
            raise IndexMismatchError(f"cannot read the index in {folder} ({error}); rebuild with `qa index`") from error
        if dense.dim != manifest.dim:
            raise IndexMismatchError(f"{folder / DENSE_FILE} holds {dense.dim}-d vectors, manifest says {manifest.dim}")
        return cls(folder, manifest, dense, sparse, store, encoder)

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

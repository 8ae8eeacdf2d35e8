"""The on-disk index as a whole: built from a corpus, changed by writers, loaded with checks.

Layout of an index folder::

    manifest.json       what it was built from and with, and its segments (written last)
    segments/NAME/      one segment per full build or addition (qa.segment): FAISS, bm25s, SQLite
    deleted.json        chunks and articles removed since (qa.deletions)

``build_index`` writes a new generation holding one segment of the whole corpus;
qa.writer adds, removes and compacts. Both go through qa.commit, so a crash
never leaves a half-written index where a good one was, and a build only ever
replaces an empty folder or an index of this program (qa.folders).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from qa.chunking import chunk_article
from qa.commit import commit, now, writer_lock
from qa.corpus import Article, Corpus, CorpusProblem, file_stamps, load_corpus
from qa.deletions import Deletions
from qa.duplicates import drop_repeated_articles, drop_repeated_chunks
from qa.encoders import Encoder, load_encoder
from qa.folders import check_index_target, clean_leftovers
from qa.manifest import IndexMismatchError, Manifest
from qa.segment import Segment, SegmentContent
from qa.segmented import SegmentedDense, SegmentedSparse, SegmentedStore
from qa.settings import Settings
from qa.tokenization import TOKENIZER_NAME, pos_tags, tokenize

log = logging.getLogger(__name__)


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


def segment_content(
    articles: list[Article],
    first_id: int,
    encoder: Encoder,
    settings: Settings,
    added_at: dict[str, str],
    progress: bool = True,
) -> tuple[SegmentContent, list[CorpusProblem]]:
    """Chunk, tokenise, tag and encode articles into the content of one new segment, chunk ids from first_id.

    Paragraphs repeating earlier text of the same articles are indexed once and reported.
    """
    chunks, titles = [], {a.id: a.title for a in articles}
    for article in articles:
        chunks.extend(chunk_article(article, settings.chunk_max_chars, settings.chunk_min_chars))
    chunks, repeated = drop_repeated_chunks(chunks, {a.id: a.path for a in articles})
    for number, chunk in enumerate(chunks, start=first_id):
        chunk.id = number
    texts = [index_text(titles[c.article_id], c.heading, c.text) for c in chunks]
    bar = dict(disable=not progress or len(chunks) < 1000, unit="chunk")
    tokens = [tokenize(t) for t in tqdm(texts, desc="tokenizing", **bar)]
    tags = [pos_tags(c.text) for c in tqdm(chunks, desc="tagging", **bar)]
    vectors = (
        encoder.encode(texts, batch_size=settings.encode_batch_size, progress=progress and None)
        if texts else np.zeros((0, encoder.dim), np.float32)
    )
    return SegmentContent(articles, chunks, tokens, tags, vectors, added_at), repeated


def build_index(
    corpus: Corpus | str | Path, out_dir: str | Path, settings: Settings, progress: bool = True
) -> Manifest:
    """Build an index of corpus (a Corpus or a folder) into out_dir, replacing any index there.

    out_dir must be new, empty or an index of this program, and must not be or hold
    the corpus (qa.folders.UnsafeFolderError otherwise); it is checked before the work
    starts and again just before the new index is swapped in. The build holds the
    writer lock throughout, so no addition made meanwhile is lost under it.
    """
    started = time.perf_counter()
    if isinstance(corpus, Corpus):
        corpus_dir, corpus_files = "", {}
    else:
        # Stamped before reading: a file changed during the build then shows as changed when loading.
        corpus_dir, corpus_files = str(corpus), file_stamps(corpus)
    out_dir = check_index_target(out_dir, corpus_dir or None)
    with writer_lock(out_dir, settings.write_wait_seconds):
        if not isinstance(corpus, Corpus):
            corpus = load_corpus(corpus)
        articles, repeated = drop_repeated_articles(corpus.articles)
        if not articles:
            _report(corpus.problems + repeated)
            raise ValueError(f"no readable articles (.txt, .md) in {corpus_dir or 'the corpus'}")
        encoder = load_encoder(settings.embed_model)
        built_at = now()
        content, repeated_paragraphs = segment_content(
            articles, 0, encoder, settings, {a.id: built_at for a in articles}, progress
        )
        problems = corpus.problems + repeated + repeated_paragraphs
        _report(problems)
        draft = dict(
            encoder=encoder.name, dim=encoder.dim, tokenizer=TOKENIZER_NAME, dense_index=settings.dense_index,
            chunk_max_chars=settings.chunk_max_chars, chunk_min_chars=settings.chunk_min_chars,
            corpus_dir=corpus_dir, corpus_fingerprint=corpus.fingerprint(), corpus_files=corpus_files,
            built_at=built_at, build_seconds=round(time.perf_counter() - started, 3), problems=problems,
            next_chunk_id=len(content.chunks), next_segment=1,
        )
        check_index_target(out_dir, corpus_dir or None)  # the folder may have changed while we encoded
        return commit(out_dir, draft, [], [content], Deletions(), {}, settings.dense_index)


@dataclass
class HybridIndex:
    """A loaded index: manifest, segments, the dense and sparse views over them, the chunk store and the encoder."""

    folder: Path
    manifest: Manifest
    segments: list[Segment]
    deletions: Deletions
    dense: SegmentedDense
    sparse: SegmentedSparse
    store: SegmentedStore
    encoder: Encoder

    @classmethod
    def load(
        cls,
        folder: str | Path,
        encoder_name: str | None = None,
        verify: bool = True,
        reuse: "HybridIndex | None" = None,
        mmap: bool = False,
    ) -> "HybridIndex":
        """Load an index, refusing one built with another encoder or format, or damaged.

        reuse: an index loaded earlier from this folder; its segments that the new generation
        keeps unchanged (same name, same file records) are taken as they are, not read or
        hashed again, so following an addition costs what the addition wrote.
        mmap: map the segments' FAISS and bm25s files instead of reading them into memory
        (QA_MMAP_INDEX; processes serving one index then share them in the page cache).
        """
        folder = Path(folder)
        if not folder.exists():
            clean_leftovers(folder)  # a crash between the two renames of a swap left the index set aside
        manifest = Manifest.load(folder)
        manifest.check_encoder(encoder_name or manifest.encoder)
        reused = {s.record.name: s for s in _unchanged_segments(reuse, manifest)}
        trusted = {name for name in manifest.files if any(name.startswith(f"segments/{n}/") for n in reused)}
        manifest.check_files(folder, hashes=verify, trusted=trusted)
        if reuse is not None and reuse.encoder.name == manifest.encoder:
            encoder = reuse.encoder
        else:
            encoder = load_encoder(manifest.encoder)
        manifest.check_encoder(encoder.name, encoder.dim)
        try:
            segments = [reused.get(r.name) or Segment.load(folder, r, mmap) for r in manifest.segments]
            deletions = Deletions.load(folder)
        except Exception as error:  # faiss, bm25s, sqlite3 and pydantic raise assorted types on bad files
            raise IndexMismatchError(f"cannot read the index in {folder} ({error}); rebuild with `qa index`") from error
        with_chunks = [s for s in segments if s.dense is not None]
        for segment in with_chunks:
            if segment.dense.dim != manifest.dim:
                raise IndexMismatchError(
                    f"segment {segment.record.name} of {folder} holds {segment.dense.dim}-d vectors, "
                    f"manifest says {manifest.dim}"
                )
        return cls(
            folder, manifest, segments, deletions,
            SegmentedDense([s.dense for s in with_chunks], [s.record for s in with_chunks], deletions),
            SegmentedSparse([s.sparse for s in with_chunks], deletions),
            SegmentedStore([s.record for s in segments], [s.store for s in segments], deletions),
            encoder,
        )

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


def _unchanged_segments(reuse: HybridIndex | None, manifest: Manifest) -> list[Segment]:
    """The segments of reuse that manifest keeps byte for byte (same name and file records)."""
    if reuse is None:
        return []
    wanted = {r.name: r for r in manifest.segments}
    kept = []
    for segment in reuse.segments:
        record = wanted.get(segment.record.name)
        prefix = segment.record.folder + "/"
        old = {n: f for n, f in reuse.manifest.files.items() if n.startswith(prefix)}
        new = {n: f for n, f in manifest.files.items() if n.startswith(prefix)}
        if record == segment.record and old == new:
            kept.append(segment)
    return kept

"""Building an index from a corpus: in pieces, in bounded memory, on every core, resumable after a crash.

The articles are taken in order and cut into pieces of about ``PIECE_CHUNKS``
chunks. Each piece is analysed (qa.analysis: tokens, tags and vectors, encoding
beside tagging) and saved in a work folder beside the index, ``.NAME.partial/``.
Pieces are gathered into segments of ``settings.segment_max_chunks`` chunks
(give or take a piece); a segment is written there as soon as it is full and its
pieces are deleted, so memory holds one segment's chunks at most, whatever the
corpus size. When the full segments are several, one dense graph is then built over
their vectors (qa.merged_dense), read back from their files, and searched in place
of theirs. At the end the segments are linked into a new generation of the index
(qa.commit, all or nothing) and the work folder is deleted.

A build that is killed leaves its work folder. The next build of the same corpus
with the same settings (the journal, ``build.json``, records both) keeps the
segments and pieces finished there and goes on from the first piece missing; any
other build starts the folder afresh.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
from pydantic import BaseModel
from tqdm.auto import tqdm

from qa.analysis import analyse, chunk_articles
from qa.commit import commit, fsync, now, writer_lock
from qa.corpus import Article, Corpus, CorpusProblem, file_stamps, load_corpus
from qa.deletions import Deletions
from qa.duplicates import drop_repeated_articles
from qa.encoders import load_encoder
from qa.folders import check_index_target
from qa.manifest import Manifest
from qa.merged_dense import MergedDenseRecord, segments_to_merge, write_merged
from qa.segment import SEGMENTS_DIR, SegmentContent, SegmentRecord, write_segment
from qa.settings import Settings
from qa.tokenization import TOKENIZER_NAME
from qa.types import Chunk

log = logging.getLogger(__name__)

# Chunks per piece: what a crash can lose (about half a minute of work on 2 cores), and the
# granularity of the progress bar's saves.
PIECE_CHUNKS = 5000
JOURNAL_FILE = "build.json"
PIECES_DIR = "pieces"
PROGRESS_MIN_CHARS = 300_000  # about 1,000 chunks: below this a bar is noise


class BuildJournal(BaseModel):
    """What a resumable build has finished, and for which corpus and settings."""

    signature: dict  # corpus fingerprint and every setting the pieces depend on
    built_at: str
    segments: list[SegmentRecord] = []
    pieces_done: int = 0  # pieces the written segments hold (their piece files are gone)
    merged: list[MergedDenseRecord] = []  # merged dense indexes written after the segments (qa.merged_dense)


def partial_folder(target: Path) -> Path:
    """The work folder of builds of target, kept across crashes (unlike qa.folders' staging folders)."""
    return target.parent / f".{target.name}.partial"


def _write_atomically(path: Path, write) -> None:
    """Write a file through a temporary name, synced, then renamed: a crash leaves the old file or the new."""
    temporary = path.with_name(path.name + ".tmp")
    write(temporary)
    fsync(temporary)
    os.replace(temporary, path)
    fsync(path.parent)


def _open_journal(work: Path, signature: dict) -> BuildJournal:
    """The journal of an unfinished build of the same corpus and settings, or a fresh work folder."""
    try:
        journal = BuildJournal.model_validate_json((work / JOURNAL_FILE).read_text("utf-8"))
        if journal.signature == signature:
            log.info("resuming the build left in %s: %d segments, %d pieces done", work, len(journal.segments),
                     journal.pieces_done)
            return journal
    except (OSError, ValueError):
        pass
    shutil.rmtree(work, ignore_errors=True)
    (work / PIECES_DIR).mkdir(parents=True)
    journal = BuildJournal(signature=signature, built_at=now())
    _save_journal(work, journal)
    return journal


def _save_journal(work: Path, journal: BuildJournal) -> None:
    _write_atomically(work / JOURNAL_FILE, lambda path: path.write_text(journal.model_dump_json(), "utf-8"))


def _piece_path(work: Path, number: int) -> Path:
    return work / PIECES_DIR / f"{number:06d}.npz"


def _save_piece(work: Path, number: int, content: SegmentContent) -> None:
    analysed = json.dumps([content.tokens, content.tags], ensure_ascii=False)

    def write(path: Path) -> None:
        with open(path, "wb") as file:
            np.savez(file, vectors=content.vectors, analysed=np.array(analysed))

    _write_atomically(_piece_path(work, number), write)


def _load_piece(
    work: Path, number: int, articles: list[Article], chunks: list[Chunk], added_at: dict[str, str]
) -> SegmentContent | None:
    """A piece saved by an earlier attempt, or None when it is missing or does not fit these chunks."""
    try:
        with np.load(_piece_path(work, number), allow_pickle=False) as saved:
            vectors = saved["vectors"]
            tokens, tags = json.loads(str(saved["analysed"]))
    except (OSError, ValueError, KeyError):
        return None
    if not len(vectors) == len(tokens) == len(tags) == len(chunks):
        return None
    tags = [[(size, tag) for size, tag in words] for words in tags]
    return SegmentContent(articles, chunks, tokens, tags, vectors, added_at)


def _pieces(articles: list[Article], settings: Settings, problems: list[CorpusProblem]):
    """(number, articles, chunks) of consecutive pieces of about PIECE_CHUNKS chunks, numbered chunks and all.

    Deterministic for a corpus and settings, which is what lets a build resume.
    """
    seen: set[str] = set()  # paragraphs repeated anywhere in the corpus are indexed once
    next_id, number, batch, chunks = 0, 0, [], []
    for article in articles:
        more, repeated = chunk_articles([article], next_id + len(chunks), settings, seen)
        problems.extend(repeated)
        batch.append(article)
        chunks.extend(more)
        if len(chunks) >= PIECE_CHUNKS:
            yield number, batch, chunks
            next_id += len(chunks)
            number, batch, chunks = number + 1, [], []
    if batch:
        yield number, batch, chunks


def _merge(contents: list[SegmentContent]) -> SegmentContent:
    return SegmentContent(
        [a for c in contents for a in c.articles],
        [ch for c in contents for ch in c.chunks],
        [t for c in contents for t in c.tokens],
        [t for c in contents for t in c.tags],
        np.concatenate([c.vectors for c in contents]),
        {k: v for c in contents for k, v in c.added_at.items()},
    )


def _write_segment(work: Path, journal: BuildJournal, contents: list[SegmentContent], pieces_done: int,
                   dense_kind: str) -> None:
    """Write one segment of the build from its pieces, record it in the journal, and drop the pieces."""
    name = f"{len(journal.segments) + 1:06d}"
    folder = work / SEGMENTS_DIR / name
    shutil.rmtree(folder, ignore_errors=True)  # half-written by a crash
    record = write_segment(folder, name, _merge(contents), dense_kind)
    for path in sorted(folder.rglob("*"), reverse=True):
        fsync(path)
    journal.segments.append(record)
    journal.pieces_done = pieces_done
    _save_journal(work, journal)
    for number in range(pieces_done):
        _piece_path(work, number).unlink(missing_ok=True)


def _merge_dense(work: Path, journal: BuildJournal, settings: Settings, progress: bool) -> None:
    """Write one merged dense index over the build's full segments when they are enough (qa.merged_dense);
    recorded in the journal, so a resumed build does not write it again."""
    todo = segments_to_merge(journal.segments, journal.merged, settings.segment_max_chunks, settings.dense_index,
                             with_last=True)
    if not todo:
        return
    record = write_merged(work, todo, work, progress)
    fsync(work / record.file)
    fsync((work / record.file).parent)
    journal.merged.append(record)
    _save_journal(work, journal)


def build_index(
    corpus: Corpus | str | Path, out_dir: str | Path, settings: Settings, progress: bool = True
) -> Manifest:
    """Build an index of corpus (a Corpus or a folder) into out_dir, replacing any index there.

    out_dir must be new, empty or an index of this program, and must not be or hold
    the corpus (qa.folders.UnsafeFolderError otherwise); it is checked before the work
    starts and again just before the new index is swapped in. The build holds the
    writer lock throughout, so no addition made meanwhile is lost under it. A build
    killed on the way resumes where it stopped when run again (see the module's text).
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
        problems = corpus.problems + repeated
        if not articles:
            _report(problems)
            raise ValueError(f"no readable articles (.txt, .md) in {corpus_dir or 'the corpus'}")
        encoder = load_encoder(settings.embed_model)
        signature = dict(
            corpus_fingerprint=corpus.fingerprint(), encoder=encoder.name, dim=encoder.dim, tokenizer=TOKENIZER_NAME,
            dense_index=settings.dense_index, chunk_max_chars=settings.chunk_max_chars,
            chunk_min_chars=settings.chunk_min_chars, segment_max_chunks=settings.segment_max_chunks,
            piece_chunks=PIECE_CHUNKS,
        )
        work = partial_folder(out_dir)
        journal = _open_journal(work, signature)
        added_at = {a.id: journal.built_at for a in articles}
        group: list[SegmentContent] = []
        next_chunk_id = 0
        show = progress and sum(len(a.text) for a in articles) >= PROGRESS_MIN_CHARS
        bar = tqdm(total=len(articles), desc="indexing", unit="article", disable=not show,
                   bar_format="{l_bar}{bar}| {n:.0f}/{total} articles [{elapsed}<{remaining}]{postfix}")
        with encoder.session(), bar:
            for number, batch, chunks in _pieces(articles, settings, problems):
                next_chunk_id = chunks[-1].id + 1 if chunks else next_chunk_id
                if number < journal.pieces_done:  # in a segment an earlier attempt wrote
                    bar.update(len(batch))
                    continue
                content = _load_piece(work, number, batch, chunks, added_at)
                if content is None:
                    share = len(batch) / max(len(chunks), 1)
                    content = analyse(batch, chunks, encoder, settings, added_at,
                                      on_encoded=lambda n, share=share: bar.update(n * share))
                    _save_piece(work, number, content)
                    bar.update(len(batch) - len(chunks) * share)  # all of it when no chunk was left to encode
                else:
                    bar.update(len(batch))
                group.append(content)
                bar.set_postfix_str(f"{next_chunk_id:,} chunks")
                # Full once it reaches the cap (so no segment of a handful of chunks is left at the end).
                if sum(len(c.chunks) for c in group) >= settings.segment_max_chunks:
                    _write_segment(work, journal, group, number + 1, settings.dense_index)
                    group = []
            if group:
                _write_segment(work, journal, group, journal.pieces_done + len(group), settings.dense_index)
        _merge_dense(work, journal, settings, progress)
        _report(problems)
        draft = dict(
            encoder=encoder.name, dim=encoder.dim, tokenizer=TOKENIZER_NAME, dense_index=settings.dense_index,
            chunk_max_chars=settings.chunk_max_chars, chunk_min_chars=settings.chunk_min_chars,
            corpus_dir=corpus_dir, corpus_fingerprint=signature["corpus_fingerprint"], corpus_files=corpus_files,
            built_at=journal.built_at, build_seconds=round(time.perf_counter() - started, 3), problems=problems,
            next_chunk_id=next_chunk_id, next_segment=len(journal.segments) + 1,
        )
        check_index_target(out_dir, corpus_dir or None)  # the folder may have changed while we encoded
        written = [(work / record.folder, record) for record in journal.segments]
        merged = [(work, record) for record in journal.merged]
        manifest = commit(out_dir, draft, [], [], Deletions(), {}, settings.dense_index, written, merged)
        shutil.rmtree(work, ignore_errors=True)
        return manifest


def _report(problems: list[CorpusProblem]) -> None:
    """Log each file that was skipped or shortened, once."""
    for problem in problems:
        log.warning("%s: %s", problem.path, problem.message)

"""The on-disk index as a whole: built from a corpus, changed by writers, loaded with checks.

Layout of an index folder::

    manifest.json       what it was built from and with, and its segments (written last)
    segments/NAME/      one segment per full build or addition (qa.segment): FAISS, bm25s, SQLite
    dense/NAME.faiss    a FAISS graph searched in place of several full segments' own (qa.merged_dense)
    deleted.json        chunks and articles removed since (qa.deletions)

qa.building writes a new generation from a whole corpus; qa.writer adds, removes
and compacts. Both go through qa.commit, so a crash never leaves a half-written
index where a good one was, and a build only ever replaces an empty folder or an
index of this program (qa.folders). Here: loading an index, with its checks.
"""

from __future__ import annotations

from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from qa.deletions import Deletions
from qa.dense import DenseIndex
from qa.encoders import Encoder, load_encoder
from qa.folders import clean_leftovers
from qa.manifest import IndexMismatchError, Manifest
from qa.merged_dense import covered_segments, usable
from qa.segment import Segment
from qa.segmented import SegmentedDense, SegmentedSparse, SegmentedStore


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
    merged: dict[str, DenseIndex] = field(default_factory=dict)  # merged dense indexes by name (qa.merged_dense)

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
        merged_records = usable(manifest.merged_dense, manifest.segments)
        covered = covered_segments(merged_records, manifest.segments)
        try:
            # Why a second thread: reading a FAISS file is disk reads and copies with the GIL released, while
            # bm25s parses its vocabularies with it held; at 1,000,002 chunks, caches dropped, the merged
            # graph took 0.97 s and the ten segments' bm25s files 0.38 s one after the other.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-dense") as dense_reader:
                kept_merged = {m.name: reuse.merged[m.name] for m in merged_records if reuse and m.name in reuse.merged
                               and _same_file(reuse.manifest, manifest, m.file)}
                merged_reads = {m.name: dense_reader.submit(DenseIndex.load, folder / m.file, mmap)
                                for m in merged_records if m.name not in kept_merged}
                segments = [
                    _kept_or_loaded(reused.get(r.name), folder, r, mmap, dense=r.name not in covered,
                                    dense_reader=dense_reader)
                    for r in manifest.segments
                ]
                merged = {m.name: kept_merged[m.name] if m.name in kept_merged else merged_reads[m.name].result()
                          for m in merged_records}
            deletions = Deletions.load(folder)
        except Exception as error:  # faiss, bm25s, sqlite3 and pydantic raise assorted types on bad files
            raise IndexMismatchError(f"cannot read the index in {folder} ({error}); rebuild with `qa index`") from error
        with_chunks = [s for s in segments if s.sparse is not None]
        by_name = {s.record.name: s.record for s in segments}
        dense_parts = [(merged[m.name], f"merged index {m.name}", [by_name[n] for n in m.segments]) for m in merged_records]
        dense_parts += [(s.dense, f"segment {s.record.name}", [s.record]) for s in with_chunks if s.record.name not in covered]
        for dense, what, _ in dense_parts:
            if dense.dim != manifest.dim:
                raise IndexMismatchError(
                    f"{what} of {folder} holds {dense.dim}-d vectors, manifest says {manifest.dim}"
                )
        return cls(
            folder, manifest, segments, deletions,
            SegmentedDense([d for d, _, _ in dense_parts], [records for _, _, records in dense_parts], deletions),
            SegmentedSparse([s.sparse for s in with_chunks], deletions),
            SegmentedStore([s.record for s in segments], [s.store for s in segments], deletions),
            encoder,
            merged,
        )

    def local_files(self) -> list[Path]:
        """This generation's files, as its manifest lists them."""
        return [self.folder / name for name in sorted(self.manifest.files)]

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


def _kept_or_loaded(kept: Segment | None, folder: Path, record, mmap: bool, dense: bool,
                    dense_reader: Executor | None = None) -> Segment:
    """A segment of an earlier load kept as it is (its dense half dropped when a merged index now covers it),
    or the segment read from folder."""
    if kept is None or (dense and kept.dense is None and record.chunks):
        return Segment.load(folder, record, mmap, dense, dense_reader)
    return kept if dense or kept.dense is None else replace(kept, dense=None)


def _same_file(old: Manifest, new: Manifest, name: str) -> bool:
    """Whether two generations hold the same file under this name (same size, hash and time)."""
    return name in old.files and old.files.get(name) == new.files.get(name)


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

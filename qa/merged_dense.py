"""Merged dense indexes: one HNSW graph over the vectors of several full segments, searched in their place.

A build streams its chunks into segments of ``segment_max_chunks`` chunks (bounded memory, resumable)
and gives each its own graph, so a question's FAISS time grows with the number of segments: at
1,000,002 chunks (ten segments) the ten searches took 26 ms of a 52 ms question (bench/1m). One graph
over the full segments is searched once instead (its parameters, measured, below).

Written by a full build once it has ``MERGE_FROM_SEGMENTS`` full segments (over all its segments, the
last one too), and by ``qa compact`` for full segments in no merged index yet. Later writes keep it as
it is, because they never change a covered segment: removals are deletions (searched past, as in
qa.segmented), and compaction merges only the segments after the last full or covered one. A merged
index whose segments are not all in the manifest any more is dropped, and those segments are searched
one by one again. The segments keep their own FAISS files
(compaction, `qa verify` and an index without the merged file read them): it costs disk, not answers.

Layout: ``dense/NAME.faiss`` inside the index folder, listed in the manifest's ``merged_dense``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel
from tqdm import tqdm

from qa.dense import DenseIndex, resolve_kind
from qa.segment import DENSE_FILE, SegmentRecord

MERGED_DIR = "dense"
# Full segments from which one graph is built over them. Below it a merge does not pay: two segments
# (an index of 100,000 chunks) cost about 5 ms of FAISS a question, and merging them would add minutes
# to a build measured against the encoder's own speed (issue 12).
MERGE_FROM_SEGMENTS = 4
# The merged graph's links per point (FAISS's M) and efConstruction. Graphs as segments build them (32, 40)
# were poor at a million vectors, where questions sit far from every paragraph (median best cosine 0.66)
# and the scores around the tenth are close: over the 1,000,002 chunks of bench/1m, 300 benchmark
# questions, recall@10 against exact search at search depth 384 (the depth segments use), one thread:
#   ten graphs of 100,000 (32, 40) searched one by one   0.969 in 26.7 ms
#   one graph (32, 40), built in 300 s                     0.870 in 3.2 ms
#   one graph (32, 120), 838 s                             0.888 in 3.7 ms (depth 768: 0.927 in 6.8 ms)
#   one graph (64, 80), 1,107 s (cores shared)             0.959 in 7.9 ms (depth 256: 0.945 in 5.0 ms)
# IVF over the same vectors (4,096 lists) reached 0.884 at 256 probes in 7.9 ms.
MERGED_NEIGHBOURS = 64
MERGED_CONSTRUCTION_DEPTH = 80


class MergedDenseRecord(BaseModel):
    """What the manifest says of a merged dense index: its name, the segments it covers and its chunks."""

    name: str
    segments: list[str]
    chunks: int

    @property
    def file(self) -> str:
        """The index file, relative to the index folder."""
        return f"{MERGED_DIR}/{self.name}.faiss"


def usable(merged: list[MergedDenseRecord], segments: list[SegmentRecord]) -> list[MergedDenseRecord]:
    """The merged indexes whose segments are all still in the index (the others no longer stand for them)."""
    present = {r.name for r in segments}
    return [m for m in merged if set(m.segments) <= present]


def segments_to_merge(
    segments: list[SegmentRecord], merged: list[MergedDenseRecord], segment_max_chunks: int, dense_kind: str,
    with_last: bool = False,
) -> list[SegmentRecord]:
    """The full segments with an HNSW graph of their own and in no merged index yet, when they are at
    least MERGE_FROM_SEGMENTS (exact indexes searched in one piece or in ten cost the same; IVF is not merged).

    with_last (a full build, whose last segment holds what was left after the full ones) takes the last
    segment too when it has a graph: once covered it is settled like a full one (compaction leaves it).
    """
    covered = covered_segments(merged, segments)
    graphs = [r for r in segments if resolve_kind(dense_kind, r.chunks) == "hnsw" and r.name not in covered]
    todo = [r for r in graphs if r.chunks >= segment_max_chunks]
    if len(todo) < MERGE_FROM_SEGMENTS:
        return []
    if with_last and graphs and graphs[-1] is segments[-1] and graphs[-1] not in todo:
        todo.append(graphs[-1])
    return todo


def covered_segments(merged: list[MergedDenseRecord], segments: list[SegmentRecord]) -> set[str]:
    """Names of the segments a usable merged index covers."""
    return {name for m in usable(merged, segments) for name in m.segments}


def write_merged(source: Path, records: list[SegmentRecord], out: Path, progress: bool = False) -> MergedDenseRecord:
    """Build one graph over the vectors the segments' FAISS files hold in source (an index or build folder)
    and write it under out; the vectors are read back, segment by segment, never re-encoded."""
    record = MergedDenseRecord(name=records[0].name, segments=[r.name for r in records],
                               chunks=sum(r.chunks for r in records))
    graph: DenseIndex | None = None
    bar = tqdm(total=record.chunks, desc="merging dense indexes", unit="chunk", disable=not progress)
    with bar:
        for segment in records:
            ids, vectors = DenseIndex.load(source / segment.folder / DENSE_FILE, mmap=True).vectors()
            graph = graph or DenseIndex.graph(vectors.shape[1], MERGED_NEIGHBOURS, MERGED_CONSTRUCTION_DEPTH)
            for start in range(0, len(ids), 10_000):  # batches: the bar moves, and memory holds a segment at most
                graph.add(vectors[start:start + 10_000], ids[start:start + 10_000])
                bar.update(len(ids[start:start + 10_000]))
    path = out / record.file
    path.parent.mkdir(parents=True, exist_ok=True)
    graph.save(path)
    return record

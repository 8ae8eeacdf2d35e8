"""Merged dense indexes (qa.merged_dense) for real: one FAISS HNSW graph searched in place of several full
segments' own, written by a build and by `qa compact`, kept through later writes, dropped when its
segments go. Twelve small articles cut from the seed corpus, segments of five chunks, each with a graph
(as segments of 100,000 chunks have by default)."""

from __future__ import annotations

import numpy as np
import pytest
from invented import TOWN, incoming

import qa.building
import qa.dense
import qa.merged_dense
from qa.building import build_index
from qa.index import HybridIndex
from qa.manifest import Manifest
from qa.merged_dense import MergedDenseRecord, segments_to_merge, usable
from qa.segment import SegmentRecord
from qa.writer import IndexWriter

QUESTIONS = ["株洲截至4月底签约了多少个项目？", "徐州缓缴社保多少", "营商环境", "谁是局长", "企业开办时间压缩到多少"]


@pytest.fixture
def corpus(twelve_articles):
    return twelve_articles


@pytest.fixture
def small(settings, monkeypatch):
    """Settings for segments of five chunks, each with an HNSW graph of its own."""
    monkeypatch.setattr(qa.building, "PIECE_CHUNKS", 2)
    monkeypatch.setattr(qa.dense, "APPROXIMATE_FROM_CHUNKS", 1)
    return settings.model_copy(update={"segment_max_chunks": 5, "dense_index": "hnsw"})


def _build_without_merging(corpus, folder, settings, monkeypatch):
    monkeypatch.setattr(qa.merged_dense, "MERGE_FROM_SEGMENTS", 10_000)
    manifest = build_index(corpus, folder, settings, progress=False)
    monkeypatch.setattr(qa.merged_dense, "MERGE_FROM_SEGMENTS", 4)
    return manifest


def _full(manifest: Manifest) -> list[str]:
    return [r.name for r in manifest.segments if r.chunks >= 5]


def test_a_build_of_many_full_segments_searches_one_graph_with_the_same_hits(corpus, small, tmp_path, monkeypatch):
    plain = _build_without_merging(corpus, tmp_path / "plain", small, monkeypatch)
    merged = build_index(corpus, tmp_path / "merged", small, progress=False)
    assert plain.merged_dense == [] and merged.segments == plain.segments
    every = [r.name for r in merged.segments]
    assert len(_full(merged)) >= 4 and _full(merged) != every, "full segments and a last one with the rest"
    assert [m.segments for m in merged.merged_dense] == [every], "a build merges its last segment too"
    assert merged.merged_dense[0].file in merged.files
    assert not (tmp_path / ".merged.partial").exists()

    one, many = HybridIndex.load(tmp_path / "merged"), HybridIndex.load(tmp_path / "plain")
    assert len(many.dense.parts) == len(plain.segments) and len(one.dense.parts) == 1
    assert all(s.dense is None for s in one.segments)
    assert len(one.dense) == len(many.dense) == merged.chunks
    for question in QUESTIONS:  # a graph over a few dozen points at search depth 384 is searched exhaustively
        query = one.encoder.encode_query(question)
        assert one.dense.search(query, 8)[1].tolist() == many.dense.search(query, 8)[1].tolist()


def test_compact_merges_the_full_segments_and_later_writes_keep_the_graph(corpus, small, tmp_path, monkeypatch):
    folder = tmp_path / "index"
    _build_without_merging(corpus, folder, small, monkeypatch)
    writer = IndexWriter(folder, small)
    writer.compact()
    manifest = Manifest.load(folder)
    assert [m.segments for m in manifest.merged_dense] == [_full(manifest)]
    graph = folder / manifest.merged_dense[0].file
    inode = graph.stat().st_ino

    index = HybridIndex.load(folder)
    covered = {r.name: r for r in manifest.segments if r.name in manifest.merged_dense[0].segments}
    article = next(a.id for a in index.store.articles() if index.store.segment_of_article(a.id) in covered)
    removed = set(index.store.chunk_ids(article))
    writer.remove([article])
    writer.add([incoming("qingshi.txt", TOWN)])
    after = Manifest.load(folder)
    assert after.merged_dense == manifest.merged_dense, "removals and additions leave full segments as they are"
    assert graph.stat().st_ino == inode, "the next generations link the same file"

    index = HybridIndex.load(folder)
    query = index.encoder.encode_query(QUESTIONS[0])
    _, ids = index.dense.search(query, len(index.dense))
    assert len(ids) == len(set(ids.tolist())) == after.chunks, "every live chunk once, the removed ones never"
    assert not removed & set(ids.tolist())
    town = index.store.chunk_ids("qingshi")
    assert set(town) <= set(ids.tolist())
    assert writer.compact() is not None and Manifest.load(folder).merged_dense == manifest.merged_dense


def test_compaction_leaves_the_segments_a_merged_graph_covers(corpus, small, tmp_path):
    folder = tmp_path / "index"
    built = build_index(corpus, folder, small, progress=False)
    last = built.segments[-1]
    assert last.chunks < 5 or last.name in built.merged_dense[0].segments
    writer = IndexWriter(folder, small)
    for number in range(3):
        writer.add([incoming(f"town-{number}.txt", TOWN.replace("四十七", str(40 + number)))])
    writer.compact()
    after = Manifest.load(folder)
    assert after.segments[: len(built.segments)] == built.segments, "covered segments are never rewritten"
    assert len(after.segments) == len(built.segments) + 1, "the three added ones became one"
    assert after.merged_dense == built.merged_dense
    index = HybridIndex.load(folder)
    assert len(index.dense.parts) == 2 and len(index.dense) == after.chunks


def _record(name: str, chunks: int) -> SegmentRecord:
    first = int(name) * 1_000_000
    return SegmentRecord(name=name, first_id=first, last_id=first + chunks - 1, chunks=chunks, articles=1)


def test_which_segments_are_merged_and_which_merged_indexes_still_stand():
    full = [_record(f"{n:06d}", 100_000) for n in range(1, 6)]
    tail = [_record("000006", 5000)]
    assert segments_to_merge(full + tail, [], 100_000, "auto") == full
    assert segments_to_merge(full[:3] + tail, [], 100_000, "auto") == [], "three graphs are searched as they are"
    assert segments_to_merge(full + tail, [], 100_000, "flat") == [] == segments_to_merge(full, [], 100_000, "ivf")
    one = MergedDenseRecord(name="000001", segments=[r.name for r in full[:4]], chunks=400_000)
    assert segments_to_merge(full + tail, [one], 100_000, "hnsw") == [], "one new full segment is not enough"
    assert usable([one], full) == [one]
    assert usable([one], full[1:]) == [], "a merged index over a segment that is gone stands for nothing"
    assert segments_to_merge(full[1:] + tail, [one], 100_000, "hnsw") == full[1:]
    assert segments_to_merge(full + tail, [], 100_000, "hnsw", with_last=True) == full + tail
    assert segments_to_merge(full + tail, [], 100_000, "auto", with_last=True) == full, "an exact last segment stays"


def test_a_merged_graph_holds_the_vectors_of_its_segments(small, corpus, tmp_path):
    manifest = build_index(corpus, tmp_path / "index", small, progress=False)
    index = HybridIndex.load(tmp_path / "index")
    merged = index.merged[manifest.merged_dense[0].name]
    ids, vectors = merged.vectors()
    own = {}
    for segment in index.segments:
        if segment.record.name in manifest.merged_dense[0].segments:
            some_ids, some = qa.dense.DenseIndex.load(tmp_path / "index" / segment.record.folder / "dense.faiss").vectors()
            own.update(zip(some_ids.tolist(), some))
    assert sorted(ids.tolist()) == sorted(own) and len(ids) == manifest.merged_dense[0].chunks
    assert all(np.array_equal(vector, own[i]) for i, vector in zip(ids.tolist(), vectors))


def test_loading_again_keeps_an_unchanged_merged_graph_and_reads_a_new_one(small, corpus, tmp_path):
    manifest = build_index(corpus, tmp_path / "index", small, progress=False)
    first = HybridIndex.load(tmp_path / "index")
    name = manifest.merged_dense[0].name
    assert HybridIndex.load(tmp_path / "index", reuse=first).merged[name] is first.merged[name]
    fresh = HybridIndex.load(tmp_path / "index")
    assert fresh.merged[name] is not first.merged[name]
    vector = first.encoder.encode_query(QUESTIONS[0])
    assert fresh.dense.search(vector, 5)[1].tolist() == first.dense.search(vector, 5)[1].tolist()


def test_the_compaction_a_cli_write_makes_due_never_merges_graphs(corpus, small, tmp_path, monkeypatch):
    """`qa add` compacts when due, but the (minutes long at scale) dense merge is left to `qa compact`."""
    from qa import cli
    from qa.settings import get_settings

    folder = tmp_path / "index"
    built = _build_without_merging(corpus, folder, small, monkeypatch)
    town = tmp_path / "qingshi.txt"
    town.write_text(TOWN, "utf-8")
    monkeypatch.setenv("QA_SEGMENT_MAX_CHUNKS", "5")
    monkeypatch.setenv("QA_COMPACT_SEGMENTS", "1")
    get_settings.cache_clear()
    try:
        assert cli.main(["add", str(town), "--index", str(folder)]) == 0
        after = Manifest.load(folder)
        assert after.merged_dense == [], "no graph merged by the automatic compaction"
        assert after.segments[:-1] == built.segments[:-1] and after.segments[-1] not in built.segments, "it compacted"
        assert len(segments_to_merge(after.segments, [], 5, after.dense_index)) >= 4, "though a merge was possible"
    finally:
        monkeypatch.undo()  # the environment first, then the settings read from it
        get_settings.cache_clear()

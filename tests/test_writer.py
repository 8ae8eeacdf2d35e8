"""Changing an index in place (qa.writer) on real components: articles added, replaced and removed
without a rebuild, bad input reported by name, compaction, the writer lock, and statistics that follow
the corpus. The articles are invented for the tests."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
from invented import HARBOUR, SEED_QUESTION, TOWN, TOWN_QUESTION, incoming

from qa.commit import IndexBusyError, writer_lock
from qa.engine import Engine
from qa.intake import IncomingDocument, Rejection
from qa.manifest import Manifest
from qa.writer import IndexWriter, UnknownArticleError


@pytest.fixture
def writer(index_copy, settings, engine):
    """A writer on a copy of the seed index, sharing the session engine's encoder."""
    return IndexWriter(index_copy, settings, encoder=engine.index.encoder)


def _engine(folder, settings) -> Engine:
    return Engine.load(folder, settings)


def _segment_files(folder) -> dict[str, tuple[int, int]]:
    """Inode and modification time of every segment file: what 'untouched' means."""
    return {
        str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in (folder / "segments").rglob("*") if p.is_file()
    }


def test_an_added_article_is_answerable_and_nothing_indexed_is_touched(writer, index_copy, settings):
    before = _segment_files(index_copy)
    report = writer.add([incoming("qingshi.txt", TOWN)])
    assert [(o.status, o.article_id) for o in report.outcomes] == [("added", "qingshi")]
    after = _segment_files(index_copy)
    assert {name: after[name] for name in before} == before, "the seed segment's files are the same files"
    engine = _engine(index_copy, settings)
    answer = engine.ask(TOWN_QUESTION)
    assert answer.answer == "四十七座" and answer.source.article_id == "qingshi"
    assert engine.ask(SEED_QUESTION).answer == "73个"
    assert engine.index.manifest.articles == 3 and len(engine.index.segments) == 2


def test_a_removed_article_is_gone_at_once_and_its_terms_leave_the_statistics(writer, index_copy, settings):
    writer.add([incoming("qingshi.txt", TOWN)])
    added = _engine(index_copy, settings)
    assert added.index.sparse.document_frequency("青石") == 1
    before = _segment_files(index_copy)
    report = writer.remove(["qingshi"])
    assert [(o.status, o.chunks) for o in report.outcomes] == [("removed", 1)]
    assert _segment_files(index_copy) == before, "removal writes no segment file"
    engine = _engine(index_copy, settings)
    assert engine.index.sparse.document_frequency("青石") == 0
    assert len(engine.index.sparse) == len(engine.index.dense) == engine.index.manifest.chunks
    assert "qingshi" not in {a.id for a in engine.articles()}
    answer = engine.ask(TOWN_QUESTION)
    assert answer.abstained or (answer.source and answer.source.article_id != "qingshi")
    assert all(p.article_id != "qingshi" for p in answer.passages)


def test_replacing_keeps_the_id_and_serves_the_new_text(writer, index_copy, settings):
    writer.add([incoming("qingshi.txt", TOWN)])
    report = writer.replace("qingshi", incoming("new.txt", TOWN.replace("四十七", "五十三")))
    assert [(o.status, o.article_id) for o in report.outcomes] == [("replaced", "qingshi")]
    engine = _engine(index_copy, settings)
    answer = engine.ask(TOWN_QUESTION)
    assert answer.answer == "五十三座" and answer.source.title == "青石镇新闻"
    # Looked up one article at a time (as a server does before any list of articles is asked for):
    # the replaced copy in the earlier segment is passed over for the one in the newest.
    assert engine.index.store.article("qingshi").path == "new.txt"
    assert engine.index.store.article("no-such-article") is None
    assert [a.id for a in engine.articles()].count("qingshi") == 1
    assert engine.index.store.article("qingshi").path == "new.txt"
    writer.remove(["qingshi"])
    assert _engine(index_copy, settings).index.store.article("qingshi") is None
    with pytest.raises(UnknownArticleError):
        writer.replace("no-such-article", incoming("x.txt", HARBOUR))


def test_bad_documents_are_reported_by_name_and_the_good_ones_of_the_batch_go_in(writer, index_copy, settings):
    small = settings.model_copy(update={"max_document_bytes": 40_000})
    writer = IndexWriter(index_copy, small, encoder=writer._encoder)
    seed_text = (settings.corpus_dir / "004_302674c14a7d71f0.txt").read_bytes()
    report = writer.add([
        incoming("empty.txt", "  \n "),
        IncomingDocument(name="image.txt", data=b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        IncomingDocument(name="latin1.txt", data=b"\xff\xfe\xff\xfe caf\xe9"),
        incoming("big.txt", "长" * 20_000),
        incoming("stars.md", "---\ntitle: 白沙港\n---\n\n★★★ ……\n——"),  # a title, and no word in the text
        IncomingDocument(name="report.pdf", data=b"%PDF-1.4"),
        IncomingDocument(name="copy.txt", data=seed_text),
        incoming("qingshi.txt", TOWN),
        incoming("again.txt", TOWN),
        IncomingDocument(name="gone.txt", error=Rejection("not_found", "no such file or folder")),
        incoming("baisha.md", HARBOUR),
    ])
    outcomes = {o.name: o for o in report.outcomes}
    assert [o.name for o in report.outcomes][:3] == ["empty.txt", "image.txt", "latin1.txt"], "in the order given"
    assert outcomes["empty.txt"].reason.startswith("empty")
    assert "binary" in outcomes["image.txt"].reason
    assert "UTF-8 or GB18030" in outcomes["latin1.txt"].reason
    assert "limit" in outcomes["big.txt"].reason
    assert ".pdf" in outcomes["report.pdf"].reason
    assert outcomes["copy.txt"].status == "duplicate" and outcomes["copy.txt"].article_id == "004_302674c14a7d71f0"
    assert outcomes["again.txt"].status == "duplicate" and outcomes["again.txt"].article_id == "qingshi"
    assert outcomes["gone.txt"].status == "rejected"
    assert [outcomes[n].problem for n in ("empty.txt", "image.txt", "latin1.txt", "big.txt", "report.pdf", "copy.txt",
                                          "stars.md")] == [
        "empty", "binary", "undecodable", "too_large", "type", "duplicate", "no_words"]
    assert {n for n, o in outcomes.items() if o.status == "added"} == {"qingshi.txt", "baisha.md"}
    engine = _engine(index_copy, settings)
    assert engine.index.manifest.articles == 4
    assert engine.ask("白沙港去年集装箱吞吐量是多少？").answer.startswith("三百八十万")
    assert engine.ask(SEED_QUESTION).answer == "73个"


def test_gb18030_text_and_a_name_already_taken(writer, index_copy, settings):
    report = writer.add([IncomingDocument(name="qingshi.txt", data=TOWN.encode("gb18030"))])
    report2 = writer.add([incoming("qingshi.txt", HARBOUR)])
    assert report.outcomes[0].article_id == "qingshi" and report2.outcomes[0].article_id == "qingshi-2"
    assert _engine(index_copy, settings).ask(TOWN_QUESTION).answer == "四十七座"


def test_unknown_ids_are_reported_and_nothing_is_written(writer, index_copy):
    generation = Manifest.load(index_copy).generation
    report = writer.remove(["no-such-article"])
    assert report.outcomes[0].status == "rejected" and "no article" in report.outcomes[0].reason
    assert Manifest.load(index_copy).generation == generation == report.generation


def test_scores_follow_the_whole_index_whichever_segment_holds_a_chunk(writer, index_copy, settings):
    """IDF is computed over all segments: after adding an article, a seed chunk's BM25 score moves
    exactly as a full rebuild would move it (bm25s's own scores with the new document frequency)."""
    whole = _engine(index_copy, settings).index.sparse
    tokens = ["株洲", "签约", "项目"]
    before = dict(zip(*reversed(whole.search(tokens, 5))))
    writer.add([incoming("qingshi.txt", TOWN + "株洲也签约了新项目。")])
    after_index = _engine(index_copy, settings).index.sparse
    after = dict(zip(*reversed(after_index.search(tokens, 5))))
    assert after_index.document_frequency("株洲") == whole.document_frequency("株洲") + 1
    common = set(before) & set(after)
    assert common and all(after[i] != before[i] for i in common), "IDF of the whole index changed every score"


def test_compaction_merges_segments_keeps_vectors_and_drops_removed_chunks(writer, index_copy, settings):
    writer.add([incoming("qingshi.txt", TOWN)])
    writer.add([incoming("baisha.txt", HARBOUR)])
    writer.remove(["qingshi", "004_302674c14a7d71f0"])
    before = _engine(index_copy, settings)
    question_vector = before.index.encoder.encode_query(SEED_QUESTION)
    dense_before = before.index.dense.search(question_vector, 10)
    articles_before = {a.id: a.added_at for a in before.articles()}
    report = writer.compact()
    after = _engine(index_copy, settings)
    assert len(after.index.segments) == 1 and not after.index.deletions.chunks
    assert {a.id: a.added_at for a in after.articles()} == articles_before
    dense_after = after.index.dense.search(question_vector, 10)
    assert np.array_equal(dense_after[1], dense_before[1]) and np.allclose(dense_after[0], dense_before[0])
    assert after.ask(SEED_QUESTION).answer == before.ask(SEED_QUESTION).answer == "73个"
    assert after.ask("白沙港去年集装箱吞吐量是多少？").answer.startswith("三百八十万")
    assert report.generation == after.index.manifest.generation
    assert not list((index_copy / "segments").glob("000001")), "the old segments are gone with their generation"


def test_compaction_leaves_full_segments_and_their_tombstones_alone(settings, engine, tmp_path):
    """A build of segments of at most 30 chunks: compaction merges only the additions after the last full segment,
    so its memory is one segment's; a chunk removed from a full segment stays removed, its terms uncounted."""
    from qa.building import build_index

    capped = settings.model_copy(update={"segment_max_chunks": 30})
    build_index(settings.corpus_dir, tmp_path / "index", capped, progress=False)
    writer = IndexWriter(tmp_path / "index", capped, encoder=engine.index.encoder)
    built = Manifest.load(tmp_path / "index")
    full = [r for r in built.segments if r.chunks >= 30]
    assert full, "the build wrote full segments"
    writer.add([incoming("qingshi.txt", TOWN)])
    writer.add([incoming("baisha.txt", HARBOUR)])
    seed_article = _engine(tmp_path / "index", capped).articles()[0].id
    writer.remove(["qingshi", seed_article])
    before = _engine(tmp_path / "index", capped)
    df_before = before.index.sparse.document_frequency("白沙港")
    writer.compact()
    after = _engine(tmp_path / "index", capped)
    assert after.index.manifest.segments[: len(full)] == full, "full segments are kept as they are"
    assert len(after.index.manifest.segments) == len(full) + 1
    assert after.index.deletions.chunks and all(i <= full[-1].last_id for i in after.index.deletions.chunks)
    assert seed_article not in {a.id for a in after.articles()} and "qingshi" not in {a.id for a in after.articles()}
    assert after.index.sparse.document_frequency("白沙港") == df_before
    assert after.index.sparse.document_frequency("青石镇") == 0
    assert after.ask("白沙港去年集装箱吞吐量是多少？").answer.startswith("三百八十万")
    assert not after.ask(TOWN_QUESTION).answer == "四十七座"


def test_compaction_comes_due_after_many_segments_or_removals(writer, index_copy, settings):
    few = IndexWriter(index_copy, settings.model_copy(update={"compact_segments": 2}), encoder=writer._encoder)
    assert not few.add([incoming("qingshi.txt", TOWN)]).compaction_due
    assert few.add([incoming("baisha.txt", HARBOUR)]).compaction_due
    assert writer.remove(["000_5eb15fd4d41f17c5"]).compaction_due, "over a quarter of the chunks removed"


def test_a_second_writer_waits_then_is_told_the_index_is_busy(index_copy, settings, writer):
    impatient = IndexWriter(index_copy, settings.model_copy(update={"write_wait_seconds": 0.2}), encoder=writer._encoder)
    held, release = threading.Event(), threading.Event()

    def hold():
        with writer_lock(index_copy, 1):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        with pytest.raises(IndexBusyError, match="another writer"):
            impatient.add([incoming("qingshi.txt", TOWN)])
    finally:
        release.set()
        holder.join()
    assert impatient.add([incoming("qingshi.txt", TOWN)]).outcomes[0].status == "added", "free again once released"


def test_a_write_that_fails_half_way_leaves_the_current_generation(writer, index_copy, settings, monkeypatch):
    before = Manifest.load(index_copy).generation
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError("disk gone")))
    with pytest.raises(OSError, match="disk gone"):
        writer.add([incoming("qingshi.txt", TOWN)])
    monkeypatch.undo()
    assert Manifest.load(index_copy).generation == before
    assert not [p for p in index_copy.parent.iterdir() if p.is_dir() and p.name.startswith(".index.")]
    assert _engine(index_copy, settings).index.manifest.articles == 2

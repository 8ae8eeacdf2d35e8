"""Building and loading the index for real: FAISS, bm25s, SQLite, the manifest's checks, atomic swaps."""

import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import faiss
import numpy as np
import pytest

from qa import cli
from qa import manifest as manifest_module
from qa.building import build_index
from qa.dense import DenseIndex, read_ahead_all_but_vectors
from qa.evaluation.datasets import load_eval_set
from qa.index import HybridIndex
from qa.manifest import MANIFEST_FILE, IndexMismatchError, IndexMissingError, Manifest
from qa.segment import Segment
from qa.store import ChunkStore
from qa.tokenization import tokenize

DATA = Path(__file__).resolve().parent / "data"


def test_build_writes_every_part_and_a_manifest(seed_index):
    manifest = json.loads((seed_index / MANIFEST_FILE).read_text("utf-8"))
    assert manifest["encoder"] == "use-m3" and manifest["dim"] == 512
    assert manifest["tokenizer"].startswith("jieba")
    assert manifest["articles"] == 2 and manifest["chunks"] > 50
    assert set(manifest["files"]) >= {"segments/000001/dense.faiss", "segments/000001/chunks.sqlite",
                                     "segments/000001/bm25/params.index.json", "deleted.json"}
    assert len(manifest["corpus_fingerprint"]) == 64


def test_both_halves_find_the_social_insurance_paragraph(seed_index):
    index = HybridIndex.load(seed_index)
    _, sparse_ids = index.sparse.search(tokenize("徐州缓缴社保"), 3)
    _, dense_ids = index.dense.search(index.encoder.encode_query("徐州缓缴和减免社保、公积金、水电气等费用"), 3)
    for ids in (sparse_ids, dense_ids):
        assert any("超31亿元" in c.text for c in index.store.chunks([int(i) for i in ids]))


def test_loading_refuses_another_encoder(seed_index, minilm_folder):
    with pytest.raises(IndexMismatchError, match="rebuild with `qa index --model"):
        HybridIndex.load(seed_index, encoder_name=str(minilm_folder))


def test_loading_refuses_a_damaged_file(seed_index, tmp_path):
    copy = tmp_path / "index"
    shutil.copytree(seed_index, copy)
    with open(copy / "segments/000001/dense.faiss", "r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(IndexMismatchError, match="damaged"):
        HybridIndex.load(copy)


def test_loading_tells_an_older_format_from_a_damaged_manifest(seed_index, tmp_path):
    copy = tmp_path / "index"
    shutil.copytree(seed_index, copy)
    data = json.loads((copy / MANIFEST_FILE).read_text("utf-8"))
    (copy / MANIFEST_FILE).write_text(json.dumps({**data, "format_version": 1}), "utf-8")
    with pytest.raises(IndexMismatchError, match="has index format 1"):
        HybridIndex.load(copy)
    (copy / MANIFEST_FILE).write_text(json.dumps({**data, "segments": "none"}), "utf-8")
    with pytest.raises(IndexMismatchError, match="damaged"):
        HybridIndex.load(copy)
    (copy / MANIFEST_FILE).write_text("{not json", "utf-8")
    with pytest.raises(IndexMismatchError, match="damaged"):
        HybridIndex.load(copy)


def test_loading_reads_no_unchanged_file_and_qa_verify_reads_them_all(seed_index, tmp_path, monkeypatch):
    """Loading sizes every file and hashes only those whose time changed; a same-size edit with its
    time put back passes loading and is found by `qa verify`."""
    copy = tmp_path / "index"
    shutil.copytree(seed_index, copy)  # copy2: times kept
    hashed = []
    real = manifest_module.sha256_file
    monkeypatch.setattr(manifest_module, "sha256_file", lambda path: hashed.append(path) or real(path))
    HybridIndex.load(copy)
    assert hashed == []
    damaged = copy / "segments/000001/dense.faiss"
    times = damaged.stat()
    with open(damaged, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00\x01\x02\x03")
    os.utime(damaged, ns=(times.st_atime_ns, times.st_mtime_ns))
    HybridIndex.load(copy)
    assert cli.main(["verify", "--index", str(copy)]) == 1
    assert cli.main(["verify", "--index", str(seed_index)]) == 0


def test_loading_refuses_a_missing_index(tmp_path):
    with pytest.raises(IndexMissingError, match="qa index"):
        HybridIndex.load(tmp_path / "nothing")


def test_a_failed_build_leaves_the_previous_index_intact(seed_index, settings, tmp_path, monkeypatch):
    target = tmp_path / "index"
    shutil.copytree(seed_index, target)
    before = (target / MANIFEST_FILE).read_text("utf-8")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(ChunkStore, "write", staticmethod(crash))
    with pytest.raises(OSError, match="disk full"):
        build_index(settings.corpus_dir, target, settings, progress=False)
    assert (target / MANIFEST_FILE).read_text("utf-8") == before
    assert HybridIndex.load(target).manifest.chunks > 0
    left = sorted(p.name for p in tmp_path.glob(".index.*") if p.is_dir())
    assert left == [".index.partial"], "no staging folder is left behind, only the work a rerun resumes from"


def test_a_killed_build_resumes_from_its_finished_pieces(settings, tmp_path, monkeypatch, twelve_articles):
    """Twelve small articles, pieces of 4 chunks, segments of 10 or a few more: a crash at the fourth piece; the rerun analyses
    only what was missing, and the index equals one built in one go."""
    import qa.analysis
    import qa.building

    corpus = twelve_articles
    monkeypatch.setattr(qa.building, "PIECE_CHUNKS", 4)
    small = settings.model_copy(update={"segment_max_chunks": 10})
    whole = build_index(corpus, tmp_path / "whole", small, progress=False)
    assert len(whole.segments) >= 3 and all(r.chunks >= 10 for r in whole.segments[:-1])

    analysed, real_analyse = [], qa.analysis.analyse

    def crash_on_fifth_piece(articles, chunks, *args, **kwargs):
        if len(analysed) == 4:
            raise KeyboardInterrupt  # as a killed build
        analysed.append([c.id for c in chunks])
        return real_analyse(articles, chunks, *args, **kwargs)

    monkeypatch.setattr(qa.building, "analyse", crash_on_fifth_piece)
    target = tmp_path / "index"
    with pytest.raises(KeyboardInterrupt):
        build_index(corpus, target, small, progress=False)
    assert not target.exists() and (tmp_path / ".index.partial" / "build.json").is_file()
    first_attempt = [i for ids in analysed for i in ids]
    analysed.clear()
    manifest = build_index(corpus, target, small, progress=False)
    resumed = [i for ids in analysed for i in ids]
    assert resumed and not set(resumed) & set(first_attempt), "finished pieces are not analysed again"
    assert not (tmp_path / ".index.partial").exists()
    assert manifest.chunks == whole.chunks and manifest.segments == whole.segments
    rebuilt, reference = HybridIndex.load(target), HybridIndex.load(tmp_path / "whole")
    ids = list(range(manifest.next_chunk_id))
    assert [c.text for c in rebuilt.store.chunks(ids)] == [c.text for c in reference.store.chunks(ids)]
    query = rebuilt.encoder.encode_query("株洲签约项目73个")
    assert rebuilt.dense.search(query, 5)[1].tolist() == reference.dense.search(query, 5)[1].tolist()


def test_an_empty_corpus_is_refused(tmp_path, settings):
    (tmp_path / "corpus").mkdir()
    with pytest.raises(ValueError, match="no readable articles"):
        build_index(tmp_path / "corpus", tmp_path / "index", settings, progress=False)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_dense_indexes_build_and_search(kind, settings, tmp_path):
    target = tmp_path / kind
    build_index(settings.corpus_dir, target, settings.model_copy(update={"dense_index": kind}), progress=False)
    index = HybridIndex.load(target)
    assert index.manifest.dense_index == kind
    scores, ids = index.dense.search(index.encoder.encode_query("株洲签约项目73个，合同引资总额202.4亿元"), 5)
    assert len(ids) == 5
    assert any("202.4亿元" in c.text for c in index.store.chunks([int(i) for i in ids]))


def test_a_sentence_transformers_model_builds_a_working_index(settings, minilm_folder, tmp_path):
    custom = settings.model_copy(update={"embed_model": str(minilm_folder)})
    build_index(settings.corpus_dir, tmp_path / "index", custom, progress=False)
    index = HybridIndex.load(tmp_path / "index", str(minilm_folder))
    assert index.manifest.dim == 384 and index.dense.dim == 384


def test_articles_sharing_a_title_are_all_stored(settings, tmp_path):
    """squad_untidy.json has three paragraphs titled 长江 (two documents) and an untitled one."""
    corpus = load_eval_set(DATA / "squad_untidy.json").corpus
    build_index(corpus, tmp_path / "index", settings, progress=False)
    articles = HybridIndex.load(tmp_path / "index").store.articles()
    assert sorted(a.id for a in articles) == sorted(a.id for a in corpus.articles)
    assert [a.title for a in articles].count("长江") == 3


def test_auto_dense_index_is_exact_for_small_segments_and_a_graph_for_large_ones(monkeypatch):
    """auto chooses per segment by size; the graph still finds each vector's own id."""
    import qa.dense
    from qa.dense import DenseIndex, resolve_kind

    vectors = np.random.default_rng(0).standard_normal((200, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(1000, 1200, dtype=np.int64)
    assert resolve_kind("auto", 199) == resolve_kind("auto", 200) == "flat"
    assert resolve_kind("ivf", 10) == "flat" and resolve_kind("ivf", 5000) == "ivf"
    exact = DenseIndex.build(vectors, ids, "auto")
    assert isinstance(faiss.downcast_index(exact.index.index), faiss.IndexFlatIP)
    monkeypatch.setattr(qa.dense, "AUTO_APPROXIMATE_FROM", 100)  # so that a small, fast test reaches the threshold
    graph = DenseIndex.build(vectors, ids, "auto")
    assert isinstance(faiss.downcast_index(graph.index.index), faiss.IndexHNSWFlat)
    _, found = graph.search(vectors[7:8], 1)
    assert found.tolist() == [1007]


def _mapped(path: Path) -> bool:
    """Whether this process has the file mapped into memory."""
    return str(path.resolve()) in Path("/proc/self/maps").read_text()


def test_an_index_loaded_mapped_answers_as_one_read_whole(seed_index):
    mapped, read = HybridIndex.load(seed_index, mmap=True), HybridIndex.load(seed_index, mmap=False)
    segment = seed_index / "segments/000001"
    assert _mapped(segment / "dense.faiss") and _mapped(segment / "bm25/data.csc.index.npy")
    for question in ["徐州缓缴社保多少", "株洲截至4月底签约了多少个项目？", "徐州与哪个省交界？"]:
        vector, tokens = read.encoder.encode_query(question), tokenize(question)
        for found, expected in [(mapped.dense.search(vector, 10), read.dense.search(vector, 10)),
                                (mapped.sparse.search(tokens, 10), read.sparse.search(tokens, 10))]:
            assert found[1].tolist() == expected[1].tolist() and found[0].tolist() == pytest.approx(expected[0].tolist())


class _CountingExecutor(ThreadPoolExecutor):
    """A real thread pool that counts the work handed to it."""

    submitted = 0

    def submit(self, work, /, *arguments, **keywords):
        self.submitted += 1
        return super().submit(work, *arguments, **keywords)


def test_a_segment_read_with_its_faiss_file_in_another_thread_is_the_same(seed_index):
    record = Manifest.load(seed_index).segments[0]
    with _CountingExecutor(max_workers=1) as reader:
        beside = Segment.load(seed_index, record, mmap=True, dense_reader=reader)
    here = Segment.load(seed_index, record, mmap=True)
    assert reader.submitted == 1
    question = "徐州缓缴社保多少"
    vector, tokens = HybridIndex.load(seed_index).encoder.encode_query(question), tokenize(question)
    assert beside.dense.search(vector, 10)[1].tolist() == here.dense.search(vector, 10)[1].tolist()
    assert beside.sparse.search(tokens, 10)[1].tolist() == here.sparse.search(tokens, 10)[1].tolist()


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_every_dense_index_type_searches_the_same_mapped(kind, tmp_path):
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((2000, 32)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    DenseIndex.build(vectors, np.arange(10, 2010), kind).save(tmp_path / "dense.faiss")
    read, mapped = DenseIndex.load(tmp_path / "dense.faiss"), DenseIndex.load(tmp_path / "dense.faiss", mmap=True)
    assert _mapped(tmp_path / "dense.faiss")
    for row in range(5):
        assert mapped.search(vectors[row : row + 1], 5)[1].tolist() == read.search(vectors[row : row + 1], 5)[1].tolist()
    assert mapped.vectors()[0].tolist() == read.vectors()[0].tolist()  # compaction reads them back alike


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_read_ahead_skips_exactly_the_vectors_of_an_id_mapped_index(kind, tmp_path):
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((1500, 24)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    path = tmp_path / "dense.faiss"
    DenseIndex.build(vectors, np.arange(100, 1600), kind).save(path)
    data = path.read_bytes()
    read = read_ahead_all_but_vectors(path)
    skipped = len(data) - read
    assert skipped == vectors.nbytes
    # What is left unread is the vectors themselves, as added (the layout the read-ahead relies on) ...
    start = data.index(vectors[:4].tobytes())
    assert data[start : start + skipped] == vectors.tobytes()
    # ... and the id map closes the file.
    assert data[-1500 * 8 :] == np.arange(100, 1600, dtype=np.int64).tobytes()


def test_read_ahead_of_a_file_that_is_not_faiss_reads_nothing(tmp_path):
    (tmp_path / "short").write_bytes(b"IxM2")
    (tmp_path / "odd").write_bytes(b"IxM2" + (10**6).to_bytes(4, "little") + (10**9).to_bytes(8, "little") + b"\0" * 64)
    assert read_ahead_all_but_vectors(tmp_path / "short") == 0
    assert read_ahead_all_but_vectors(tmp_path / "odd") == 0

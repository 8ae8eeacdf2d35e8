"""The engine on Milvus (QA_BACKEND=milvus) against real Milvus Lite: the seed corpus built into a
temporary .db file, the same answers as the local backend, articles added and removed in place, the
server following Milvus writes, and `qa eval` through the real command line. The articles added are
invented for the tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from invented import HARBOUR, HARBOUR_QUESTION, SEED_QUESTION, TOWN, TOWN_QUESTION, incoming

from qa.backends import get_backend
from qa.backends.milvus.connection import connect
from qa.backends.milvus.manifest import read_manifest
from qa.collection import Collection
from qa.engine import Engine
from qa.evaluation.harness import evaluate
from qa.generations import LiveEngine
from qa.manifest import IndexMismatchError, IndexMissingError
from qa.writer import UnknownArticleError

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "eval" / "seeds.jsonl"


@pytest.fixture(scope="module")
def milvus_settings(tmp_path_factory, settings):
    """The session's settings on the Milvus backend, over a Milvus Lite file of this module's own."""
    uri = tmp_path_factory.mktemp("milvus") / "qa.db"
    return settings.model_copy(update={"backend": "milvus", "milvus_uri": str(uri), "milvus_collection": "seed"})


@pytest.fixture(scope="module")
def milvus_engine(milvus_settings):
    """The seed corpus built into Milvus Lite for real (the collection "seed"), and its engine."""
    get_backend(milvus_settings).build(milvus_settings.corpus_dir, progress=False)
    return Engine.load(None, milvus_settings)


@pytest.fixture
def live_settings(milvus_settings, request):
    """A collection of its own for a test that writes (the module's seed collection stays as built)."""
    base = "live_" + request.node.name.split("[")[0][-40:].replace("-", "_")
    live = milvus_settings.model_copy(update={"milvus_collection": base})
    get_backend(live).build(live.corpus_dir, progress=False)
    return live


def _questions() -> list[str]:
    return [json.loads(line)["question"] for line in SEEDS.read_text("utf-8").splitlines() if line.strip()]


def test_milvus_lite_holds_the_index_as_the_schema_says(milvus_engine, milvus_settings):
    client = connect(milvus_settings)
    manifest = read_manifest(client, "seed")
    assert manifest.analyzer == milvus_settings.milvus_analyzer and manifest.dense_index == "HNSW"
    assert manifest.articles == 2 and manifest.chunks == manifest.next_chunk_id > 50
    sparse = client.describe_index(manifest.collections["chunks"], "sparse")
    assert sparse["index_type"] == "SPARSE_INVERTED_INDEX" and sparse["metric_type"] == "BM25"
    assert sparse["params"] == {"bm25_k1": 1.2, "bm25_b": 0.75}, "bm25s's parameters, not Milvus Lite's k1 1.5"
    assert client.describe_index(manifest.collections["chunks"], "dense")["index_type"] == "HNSW"
    assert [a.id for a in milvus_engine.articles()] == ["000_5eb15fd4d41f17c5", "004_302674c14a7d71f0"]


def test_every_seed_question_gets_the_same_answer_and_passages_as_the_local_backend(milvus_engine, engine):
    questions = _questions()
    assert len(questions) == 55
    for question in questions:
        local, milvus = engine.ask(question), milvus_engine.ask(question)
        assert milvus.answer == local.answer and milvus.abstained == local.abstained, question
        assert milvus.source == local.source, question
        assert [p.chunk_id for p in milvus.passages] == [p.chunk_id for p in local.passages], question
        assert milvus.confidence == pytest.approx(local.confidence, abs=1e-6), question


def test_bm25_in_milvus_ranks_as_bm25s_does(milvus_engine, engine):
    """Milvus's BM25 over our tokens gives bm25s's scores (once its constant factor k1 + 1 is taken out)."""
    from qa.tokenization import tokenize

    for question in _questions()[:20]:
        local_scores, local_ids = engine.index.sparse.search(tokenize(question), 30)
        scores, ids = milvus_engine.index.sparse.search(tokenize(question), 30)
        # The same scores in the same order; chunks of equal score may come in either order.
        assert scores == pytest.approx(local_scores, rel=1e-4), question
        local = dict(zip(local_ids.tolist(), local_scores.tolist()))
        assert all(score == pytest.approx(local[i], rel=1e-4) for i, score in zip(ids.tolist(), scores.tolist())
                   if i in local), question


def test_documents_read_back_whole(milvus_engine, engine):
    for info in engine.articles():
        # The same article as indexed; only the time of indexing differs (two builds).
        assert milvus_engine.index.store.article(info.id).model_dump(exclude={"added_at"}) == info.model_dump(
            exclude={"added_at"})
        assert milvus_engine.index.store.article_record(info.id) == engine.index.store.article_record(info.id)
    assert milvus_engine.index.store.article("no-such-article") is None


def test_an_added_article_is_answerable_and_a_removed_one_is_gone(live_settings):
    backend = get_backend(live_settings)
    before = Engine.load(None, live_settings)
    writer = backend.writer(encoder=before.index.encoder)

    report = writer.add([incoming("qingshi.txt", TOWN), incoming("copy.txt", TOWN), incoming("empty.txt", "  ")])
    assert [(o.name, o.status, o.article_id) for o in report.outcomes] == [
        ("qingshi.txt", "added", "qingshi"), ("copy.txt", "duplicate", "qingshi"), ("empty.txt", "rejected", None)]
    after = Engine.load(None, live_settings)
    answer = after.ask(TOWN_QUESTION)
    assert answer.answer == "四十七座" and answer.source.article_id == "qingshi"
    assert after.ask(SEED_QUESTION).answer == "73个"
    assert after.index.manifest.articles == 3 and after.index.manifest.generation == report.generation
    # The engine loaded before the write serves its own generation: no chunk of the addition.
    assert all(p.article_id != "qingshi" for p in before.ask(TOWN_QUESTION).passages)
    assert [a.id for a in before.articles()] == ["000_5eb15fd4d41f17c5", "004_302674c14a7d71f0"]

    removed = writer.remove(["qingshi", "no-such-article"])
    assert [(o.status, o.article_id) for o in removed.outcomes] == [("removed", "qingshi"), ("rejected", "no-such-article")]
    gone = Engine.load(None, live_settings)
    assert gone.ask(TOWN_QUESTION).answer != "四十七座"
    assert all(p.article_id != "qingshi" for p in gone.ask(TOWN_QUESTION).passages)
    assert gone.index.manifest.articles == 2 and gone.index.store.article("qingshi") is None
    articles, summary = backend.listing()
    assert [a.id for a in articles] == ["000_5eb15fd4d41f17c5", "004_302674c14a7d71f0"] and summary.startswith("2 articles")


def test_replace_keeps_the_id_and_the_server_follows_every_write(live_settings):
    """Writes through the server's Collection are served before they return, as on the local backend."""
    live = LiveEngine(Engine.load(None, live_settings), live_settings)
    collection = Collection(live, live_settings)
    collection.add([incoming("qingshi.txt", TOWN)])
    assert live.current().ask(TOWN_QUESTION).answer == "四十七座"
    report = collection.replace("qingshi", incoming("baisha.txt", HARBOUR))
    assert [(o.status, o.article_id) for o in report.outcomes] == [("replaced", "qingshi")]
    engine = live.current()
    assert engine.index.manifest.generation == report.generation and live.status().status == "ok"
    assert engine.ask(HARBOUR_QUESTION).source.article_id == "qingshi"
    assert "白沙港" in engine.index.store.article_record("qingshi").text
    assert all("青石镇" not in p.text for p in engine.ask(TOWN_QUESTION).passages)
    with pytest.raises(UnknownArticleError):
        collection.replace("no-such-article", incoming("x.txt", HARBOUR))
    collection.remove(["qingshi"])
    assert live.current().index.store.article("qingshi") is None
    generation = live.current().index.manifest.generation
    assert collection.compact().generation == generation  # Milvus merges its own segments; the content stays


def test_rebuilds_switch_whole_and_keep_one_build_behind(live_settings):
    """A rebuild is new collections named by the manifest row; the one before stays for readers still on it."""
    client, backend = connect(live_settings), get_backend(live_settings)
    first = read_manifest(client, live_settings.milvus_collection)
    reader = Engine.load(None, live_settings)
    second = backend.build(live_settings.corpus_dir, progress=False)
    assert second.collections != first.collections and second.previous == first.collections
    assert reader.ask(SEED_QUESTION).answer == "73个", "a reader of the build before keeps answering"
    third = backend.build(live_settings.corpus_dir, progress=False)
    names = set(client.list_collections())
    assert set(third.collections.values()) | set(second.collections.values()) <= names
    assert not set(first.collections.values()) & names, "two builds back is dropped"


def test_rows_of_a_write_killed_before_its_commit_are_never_seen_and_then_deleted(live_settings):
    """A write that inserted its rows but died before rewriting the manifest (rows written here as it would
    have): readers do not see them, and the next write deletes them first."""
    from qa.analysis import segment_content
    from qa.backends.milvus.rows import article_rows, chunk_rows
    from qa.intake import to_article

    client, backend = connect(live_settings), get_backend(live_settings)
    manifest = read_manifest(client, live_settings.milvus_collection)
    engine = Engine.load(None, live_settings)
    article = to_article(incoming("qingshi.txt", TOWN), 10**6, set())
    content, _ = segment_content([article], manifest.next_chunk_id, engine.index.encoder, live_settings,
                                 {article.id: "now"}, progress=False)
    client.insert(manifest.collections["chunks"], chunk_rows(content, manifest.analyzer))
    client.insert(manifest.collections["articles"], article_rows(content, manifest.version + 1))
    client.flush(manifest.collections["chunks"])
    client.flush(manifest.collections["articles"])
    for reader in (engine, Engine.load(None, live_settings)):
        assert all(p.article_id != "qingshi" for p in reader.ask(TOWN_QUESTION).passages)
        assert reader.index.store.article("qingshi") is None
    report = backend.writer(encoder=engine.index.encoder).remove(["qingshi"])
    assert report.outcomes[0].status == "rejected", "the orphan is no article of the index"
    orphans = client.query(manifest.collections["chunks"], filter=f"id >= {manifest.next_chunk_id}", output_fields=["id"])
    assert orphans == []


def test_a_missing_index_and_another_encoder_are_refused_by_name(milvus_settings, milvus_engine):
    with pytest.raises(IndexMissingError, match="nothing_here_meta"):
        get_backend(milvus_settings.model_copy(update={"milvus_collection": "nothing_here"})).load()
    with pytest.raises(IndexMismatchError, match="use-m3"):
        get_backend(milvus_settings.model_copy(update={"embed_model": "other-model"})).load()
    with pytest.raises(ValueError, match="names a collection"):
        get_backend(milvus_settings).load("some/folder")


def test_qa_eval_on_milvus_gives_the_recall_of_the_local_backend(tmp_path, settings, seed_index):
    """`qa eval eval/seeds.jsonl` as a user runs it with QA_BACKEND=milvus (the index built from the
    corpus on first use, in a Lite file of its own: a Lite file is open in one process at a time)."""
    local, _ = evaluate(SEEDS, settings, seed_index, progress=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_BACKEND="milvus", QA_MILVUS_URI=str(tmp_path / "eval.db"), QA_CORPUS_DIR=str(ROOT / "corpus"),
               HF_HUB_OFFLINE="1")
    result = subprocess.run([sys.executable, "-m", "qa.cli", "eval", str(SEEDS), "--json"], capture_output=True,
                            text=True, cwd=tmp_path, env=env, timeout=900)
    assert result.returncode == 0, result.stderr
    milvus = json.loads(result.stdout)
    for metric in ("recall@1", "recall@5"):
        assert abs(milvus[metric] - local[metric]) <= 0.01, metric
    assert milvus["em"] == local["em"]


def test_a_second_process_on_the_same_lite_file_is_told_why_it_cannot_open_it(milvus_engine, milvus_settings, tmp_path):
    """Milvus Lite locks its file for the process that opened it (this one): `qa list` beside it says so."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env.update(QA_BACKEND="milvus", QA_MILVUS_URI=milvus_settings.milvus_uri, QA_MILVUS_COLLECTION="seed")
    result = subprocess.run([sys.executable, "-m", "qa.cli", "list"], capture_output=True, text=True, cwd=tmp_path,
                            env=env, timeout=300)
    assert result.returncode == 1
    assert "open in one process at a time" in " ".join(result.stderr.split())


def test_qa_serve_on_milvus_builds_answers_and_takes_uploads(serve_index, tmp_path):
    """`qa serve` with QA_BACKEND=milvus as its own process: the index built into Milvus Lite on start,
    questions answered, an upload answerable when its reply comes, its removal gone when that reply comes."""
    env = dict(QA_BACKEND="milvus", QA_MILVUS_URI=str(tmp_path / "serve.db"), QA_CORPUS_DIR=str(ROOT / "corpus"),
               QA_API_KEY="milvus-key")
    with serve_index("served", **env) as (_, url):
        import httpx

        with httpx.Client(base_url=url, timeout=120, headers={"X-API-Key": "milvus-key"}) as client:
            health = client.get("/api/health").json()
            assert health["status"] == "ok" and health["articles"] == 2 and health["dense_index"] == "HNSW"
            assert client.post("/api/ask", json={"question": SEED_QUESTION}).json()["answer"] == "73个"
            added = client.post("/api/documents", files={"files": ("qingshi.txt", TOWN.encode(), "text/plain")})
            assert added.status_code == 200 and added.json()["outcomes"][0]["status"] == "added"
            answer = client.post("/api/ask", json={"question": TOWN_QUESTION})
            assert answer.json()["answer"] == "四十七座"
            assert answer.headers["x-index-generation"] == added.json()["generation"]
            assert "青石镇" in client.get("/api/documents/qingshi").json()["text"]
            assert client.delete("/api/documents/qingshi").status_code == 200
            assert client.get("/api/documents/qingshi").status_code == 404
            assert client.post("/api/ask", json={"question": TOWN_QUESTION}).json()["answer"] != "四十七座"

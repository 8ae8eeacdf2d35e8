"""Hybrid retrieval (qa.retriever) on the seed index: BM25 searched beside FAISS gives what one after the
other gives, in this process and in a process forked after questions were asked; so does the reader's
analysis of the question made beside retrieval. Unset, threads are used for large indexes only."""

from __future__ import annotations

import multiprocessing

from qa.engine import Engine
from qa.retriever import PARALLEL_FROM_CHUNKS, HybridRetriever, searches_in_parallel

QUESTIONS = ["徐州缓缴社保多少", "株洲截至4月底签约了多少个项目？", "谁是局长", "营商环境怎么样"]


def _ranking(retriever: HybridRetriever, question: str) -> list[tuple[int, float, float]]:
    return [(p.chunk.id, round(p.bm25, 5), round(p.dense, 5)) for p in retriever.retrieve(question, 5)]


def _in_child(queue, retriever, question):
    queue.put(_ranking(retriever, question))


def test_bm25_beside_faiss_ranks_as_one_after_the_other(engine, settings):
    beside = HybridRetriever(engine.index, settings.model_copy(update={"parallel_retrieval": True}))
    in_turn = HybridRetriever(engine.index, settings.model_copy(update={"parallel_retrieval": False}))
    for question in QUESTIONS:
        ranking = _ranking(beside, question)
        assert ranking == _ranking(in_turn, question)
        assert any(bm25 > 0 for _, bm25, _ in ranking) and any(dense > 0 for _, _, dense in ranking)


def test_a_forked_process_searches_with_threads_of_its_own(engine, settings):
    beside = HybridRetriever(engine.index, settings.model_copy(update={"parallel_retrieval": True}))
    expected = _ranking(beside, QUESTIONS[0])  # the parent's threads exist now
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_in_child, args=(queue, beside, QUESTIONS[0]))
    child.start()
    child.join(60)
    assert child.exitcode == 0 and queue.get(timeout=5) == expected


def test_retrieval_runs_in_threads_as_set_and_by_index_size_when_unset(engine, settings):
    small = engine.index.manifest.chunks
    assert small < PARALLEL_FROM_CHUNKS
    unset = settings.model_copy(update={"parallel_retrieval": None, "backend": "local"})
    assert not searches_in_parallel(engine.index, unset)
    assert searches_in_parallel(engine.index, unset.model_copy(update={"parallel_retrieval": True}))
    assert not searches_in_parallel(engine.index, unset.model_copy(update={"parallel_retrieval": False}))
    # Milvus searches are round trips to its server: in a thread whatever the size.
    assert searches_in_parallel(engine.index, unset.model_copy(update={"backend": "milvus"}))
    assert HybridRetriever(engine.index, unset).parallel is False


def test_asking_with_the_question_analysed_beside_retrieval_answers_as_retrieving_then_answering(engine, settings):
    engine = Engine(engine.index, settings.model_copy(update={"parallel_retrieval": True}), reuse=engine)
    assert engine.retriever.parallel
    for question in ["徐州缓缴社保多少", "株洲截至4月底签约了多少个项目？"]:
        asked = engine.ask(question)
        in_turn = engine.answer(question, engine.retrieve(question))
        assert (asked.answer, asked.confidence, asked.source) == (in_turn.answer, in_turn.confidence, in_turn.source)

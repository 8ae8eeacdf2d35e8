"""Hybrid retrieval (qa.retriever) on the seed index: BM25 searched beside FAISS gives what one after the
other gives, in this process and in a process forked after questions were asked; so does the reader's
analysis of the question made beside retrieval, or during the FAISS search. Unset, threads are used for
large indexes only."""

from __future__ import annotations

import multiprocessing
import threading

import qa.retriever
from qa.background import Occupancy
from qa.engine import Engine
from qa.retriever import PARALLEL_FROM_CHUNKS, HybridRetriever, searches_in_parallel, works_during_search

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


def test_work_runs_during_the_faiss_search_from_a_size_when_unset_and_never_when_off(engine, settings, monkeypatch):
    unset = settings.model_copy(update={"parallel_retrieval": None, "backend": "local"})
    assert not works_during_search(engine.index, unset), "the seed index is small"
    monkeypatch.setattr(qa.retriever, "WORK_DURING_SEARCH_FROM_CHUNKS", engine.index.manifest.chunks)
    assert works_during_search(engine.index, unset)
    assert not works_during_search(engine.index, unset.model_copy(update={"parallel_retrieval": False}))
    during, plain = HybridRetriever(engine.index, unset), HybridRetriever(engine.index, unset.model_copy(
        update={"parallel_retrieval": False}))
    assert not during.parallel and during.works_during_search
    for question in QUESTIONS:
        passages, working = during.retrieve_beside(question, 5, threading.get_ident)
        assert working is not None and working.result() != threading.get_ident(), "the work ran in another thread"
        assert [p.chunk.id for p in passages] == [p.chunk.id for p in plain.retrieve(question, 5)]
        assert plain.retrieve_beside(question, 5, threading.get_ident)[1] is None, "left to the caller"


def test_asking_with_the_question_analysed_during_the_search_answers_as_retrieving_then_answering(
        engine, settings, monkeypatch):
    monkeypatch.setattr(qa.retriever, "WORK_DURING_SEARCH_FROM_CHUNKS", 1)
    engine = Engine(engine.index, settings.model_copy(update={"parallel_retrieval": None, "backend": "local"}),
                    reuse=engine)
    assert engine.retriever.works_during_search and not engine.retriever.parallel
    for question in ["徐州缓缴社保多少", "株洲截至4月底签约了多少个项目？"]:
        asked = engine.ask(question)
        in_turn = engine.answer(question, engine.retrieve(question))
        assert (asked.answer, asked.confidence, asked.source) == (in_turn.answer, in_turn.confidence, in_turn.source)


def test_a_question_asked_while_another_is_answered_is_analysed_on_its_own_thread(engine, settings, monkeypatch):
    """The hand-off pays only while the other core is idle (qa.background.Occupancy)."""
    monkeypatch.setattr(qa.retriever, "WORK_DURING_SEARCH_FROM_CHUNKS", 1)
    engine = Engine(engine.index, settings.model_copy(update={"parallel_retrieval": None, "backend": "local"}),
                    reuse=engine)
    handed = []
    retrieve_beside = engine.retriever.retrieve_beside
    monkeypatch.setattr(engine.retriever, "retrieve_beside",
                        lambda question, k, work: handed.append(work is not None) or retrieve_beside(question, k, work))
    alone = engine.ask(QUESTIONS[0])
    with engine._asking.entered():  # another question under way
        beside_another = engine.ask(QUESTIONS[0])
    assert handed == [True, False]
    assert (alone.answer, alone.confidence) == (beside_another.answer, beside_another.confidence)


def test_occupancy_tells_who_came_in_alone():
    occupancy = Occupancy()
    inside, release, seen = threading.Event(), threading.Event(), []

    def hold():
        with occupancy.entered() as alone:
            seen.append(alone)
            inside.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(10)
    with occupancy.entered() as alone:
        seen.append(alone)
    release.set()
    holder.join(10)
    with occupancy.entered() as alone:
        seen.append(alone)
    assert seen == [True, False, True]

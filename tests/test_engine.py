"""The engine end to end over the real seed index: answers, sources, abstention, errors, threads."""

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from qa.engine import EmptyQuestionError, Engine, QuestionTooLongError
from qa.settings import reads_in_parallel

SEEDS = Path(__file__).resolve().parent.parent / "eval" / "seeds.jsonl"


def test_an_answer_is_cut_from_its_sentence_and_article(engine):
    answer = engine.ask("株洲市市长是谁？")
    assert answer.answer == "阳卫国" and not answer.abstained
    assert answer.marked_sentence().count("【阳卫国】") == 1
    assert answer.source.article_id in {a.id for a in engine.articles()}
    assert answer.timings_ms["answer"] > 0 and answer.passages[0].rank == 1


@pytest.mark.parametrize(
    "question, expected",
    [("株洲市市长是谁？", "阳卫国"), ("徐州与哪个省交界？", "山东")],
)
def test_short_exact_answers_by_question_type(engine, question, expected):
    assert engine.ask(question).answer == expected


@pytest.mark.parametrize("question", ["徐州去年的GDP是多少？", "今天天气怎么样"])
def test_questions_the_articles_do_not_answer_abstain(engine, question):
    answer = engine.ask(question)
    assert answer.abstained and answer.answer == "" and answer.source is None


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_questions_are_refused(engine, question):
    with pytest.raises(EmptyQuestionError):
        engine.ask(question)


def test_overlong_questions_are_refused(engine):
    with pytest.raises(QuestionTooLongError):
        engine.ask("徐州" * 300)


def test_full_width_digits_in_questions_are_understood(engine):
    assert engine.ask("株洲向规模以上企业派驻了多少名联络员？").answer == engine.ask("株洲向规模以上企业派驻了多少名联络员?").answer


def test_one_engine_answers_from_many_threads(engine):
    questions = ["徐州缓缴社保多少", "株洲签约了多少个项目", "徐州有几所大学？", "株洲市市长是谁？"] * 8
    expected = {q: engine.ask(q).answer for q in set(questions)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda q: engine.ask(q).answer, questions))
    assert answers == [expected[q] for q in questions]


def test_documents_list_titles_and_chunk_counts(engine):
    articles = engine.articles()
    assert len(articles) == 2 and all(a.chunk_count > 10 for a in articles)


def test_reading_in_threads_answers_as_reading_in_turn(engine, settings):
    at_once = Engine(engine.index, settings.model_copy(update={"parallel_reading": True}), reuse=engine)
    in_turn = Engine(engine.index, settings.model_copy(update={"parallel_reading": False}), reuse=engine)
    assert at_once.predictor.parallel and not in_turn.predictor.parallel
    assert at_once.predictor.network is in_turn.predictor.network  # one model, shared
    questions = [json.loads(line)["question"] for line in SEEDS.read_text("utf-8").splitlines() if line.strip()]
    for question in questions[:12]:
        a, b = at_once.ask(question), in_turn.ask(question)
        assert (a.answer, a.confidence, a.abstained) == (b.answer, b.confidence, b.abstained)


def test_reading_in_threads_as_set_and_by_core_count_when_unset(settings, monkeypatch):
    unset = settings.model_copy(update={"parallel_reading": None})
    assert reads_in_parallel(unset.model_copy(update={"parallel_reading": True}))
    assert not reads_in_parallel(unset.model_copy(update={"parallel_reading": False}))
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert not reads_in_parallel(unset)
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert reads_in_parallel(unset)

"""The shipped answer decision (qa.answer.Predictor) on hand-made passages: spans, sources, confidence, bounds."""

from __future__ import annotations

import pytest

from qa.answer.model_file import load
from qa.answer.predictor import MAX_PASSAGE_CHARS, Predictor
from qa.answer.prefixes import trim
from qa.tokenization import pos_tags
from qa.types import Passage, StoredChunk

# Invented passages: nothing here comes from the seed articles or the evaluation sets.
JOBS = "去年全市新增城镇就业岗位3.2万个，城镇登记失业率控制在3.5%以内。今年计划再新增岗位2万个。"
WEATHER = "本周末气温回升，最高气温将达到二十八摄氏度，市民出行请注意防晒。"


def passage(text: str, rank: int = 1, article: str = "a1", offset: int = 0) -> Passage:
    chunk = StoredChunk(id=rank, article_id=article, paragraph=1, start=offset, end=offset + len(text), text=text,
                        segments=[(0, offset)], tags=pos_tags(text))
    return Passage(chunk=chunk, rank=rank, score=1.0 / rank, bm25=1.0, dense=0.5)


@pytest.fixture(scope="module")
def predictor() -> Predictor:
    return Predictor(title=lambda article_id: f"标题 {article_id}", abstain_threshold=0.0)


def test_the_answer_is_a_span_of_its_passage_with_source_offsets(predictor):
    answer = predictor.predict("去年全市新增城镇就业岗位多少个？", [passage(JOBS, offset=100)])
    assert answer.answer and answer.answer in JOBS
    assert answer.sentence in JOBS and answer.answer in answer.sentence
    start, end = answer.answer_in_sentence
    assert answer.sentence[start:end] == answer.answer
    assert JOBS[answer.source.start - 100 : answer.source.end - 100] == answer.answer
    assert answer.source.title == "标题 a1" and 0.0 <= answer.confidence <= 1.0


def test_a_number_question_gets_the_number(predictor):
    assert "3.2万" in predictor.predict("去年全市新增城镇就业岗位多少个？", [passage(JOBS)]).answer


def test_the_passage_that_holds_the_answer_wins_over_an_unrelated_one(predictor):
    answer = predictor.predict("城镇登记失业率控制在多少以内？", [passage(WEATHER, 1, "w"), passage(JOBS, 2, "j")])
    assert answer.source.article_id == "j" and "3.5%" in answer.answer


def test_an_unrelated_passage_gets_less_confidence_than_a_supporting_one(predictor):
    supported = predictor.predict("城镇登记失业率控制在多少以内？", [passage(JOBS)])
    unsupported = predictor.predict("城镇登记失业率控制在多少以内？", [passage(WEATHER)])
    assert unsupported.confidence < supported.confidence


def test_no_passages_means_no_answer(predictor):
    answer = predictor.predict("去年新增多少岗位？", [])
    assert answer.abstained and answer.answer == "" and answer.source is None


def test_the_default_threshold_is_the_one_saved_with_the_model():
    assert Predictor().threshold == Predictor().calibrator.threshold > 0.0


def test_work_per_question_is_bounded(predictor):
    long_passage = passage(JOBS * 40)
    reading = predictor.read("岗位" * 300, [long_passage])
    assert reading.spans[0].end <= MAX_PASSAGE_CHARS


def test_the_predictor_starts_its_spans_after_the_model_file_s_left_out_prefixes():
    """The prefixes come with the reader's model file; a file without them trims nothing."""
    texts = ["千博信息的系统已推广至343家电视台，至25%的县", "至3至4至5至6至7至8"]
    passages = [passage(text, rank=rank) for rank, text in enumerate(texts, start=1)]
    question = "系统推广到了多少家电视台"
    data = load()
    plain = Predictor(model=dict(data, left_out_prefixes=[]), abstain_threshold=0.0).read(question, passages)
    listed = Predictor(model=dict(data, left_out_prefixes=["至"]), abstain_threshold=0.0).read(question, passages)
    for before, after in zip(plain.spans, listed.spans):
        text = texts[before.passage]  # both passages are read: neither is empty
        assert after.start == trim(text, before.start, before.end, ["至"])
        assert (after.end, after.log_probability) == (before.end, before.log_probability)
        assert not (text[after.start] == "至" and after.end - after.start > 1)


def test_an_analysis_made_beforehand_reads_as_one_made_in_place_and_one_of_another_question_is_not_used(predictor):
    question, passages = "去年全市新增城镇就业岗位多少个？", [passage(JOBS), passage(WEATHER, rank=2)]
    in_place = predictor.predict(question, passages)
    assert predictor.predict(question, passages, predictor.analyse(question)) == in_place
    # An analysis of another question (a caller's slip) is made again for this one, not read with.
    assert predictor.predict(question, passages, predictor.analyse("最高气温将达到多少？")) == in_place


def test_the_shipped_model_s_span_ranker_answers_one_of_the_reader_s_candidates():
    model = load()
    ranked = Predictor(model=model, abstain_threshold=0.0)
    unranked = Predictor(model={key: value for key, value in model.items() if key != "span_ranker"}, abstain_threshold=0.0)
    assert ranked.ranker is not None and unranked.ranker is None
    for question, passages in [("去年全市新增城镇就业岗位多少个？", [passage(JOBS), passage(WEATHER, rank=2)]),
                               ("最高气温将达到多少？", [passage(WEATHER), passage(JOBS, rank=2)])]:
        found = [c.text for c in ranked.candidates(question, passages)]
        assert len(found) == len(set(found)) > 1
        assert ranked.predict(question, passages).answer in found
        # Without a ranker the answer is the reader's most probable span, the first candidate.
        assert unranked.predict(question, passages).answer == found[0]

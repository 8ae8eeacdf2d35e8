"""The span ranker (qa.answer.ranking) and its features (qa.answer.span_features) on small hand-made inputs,
and the spans it chooses among (qa.answer.decoding.top_in_band), with real LightGBM."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qa.answer.decoding import MAX_ANSWER_CHARS, PassageSpan, best_spans, span_scores, top_in_band
from qa.answer.encoding import FLAGS, EncodedPassage
from qa.answer.network import NEG
from qa.answer.ranking import CANDIDATES, SpanRanker, candidates
from qa.answer.span_features import FAR, SPAN_FEATURES, Candidate, span_features
from qa.types import Passage, StoredChunk

# Invented text: nothing here comes from the seed articles or the evaluation sets.
TEXT = "去年新增岗位达3万个，失业率为3.5%，今年计划新增2万个。"


def _passage(text: str, rank: int = 1) -> Passage:
    chunk = StoredChunk(id=rank, article_id=f"a{rank}", paragraph=1, start=0, end=len(text), text=text,
                        segments=[(0, 0)], tags=[(1, "x")] * len(text))
    return Passage(chunk=chunk, rank=rank, score=1.0 / rank, bm25=2.0, dense=0.5)


def _encoded(text: str, word_flags: list[int]) -> EncodedPassage:
    flags = np.zeros((len(text), len(FLAGS)), np.float32)
    flags[word_flags, FLAGS.index("word_in_question")] = 1.0
    flags[word_flags, FLAGS.index("char_in_question")] = 1.0
    return EncodedPassage(text, np.ones(len(text), np.int64), np.arange(len(text)) % 5, np.zeros(len(text), np.int64), flags)


def _scores(length: int, rows: int = 2, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(shape, generator=generator) for shape in [(rows, length), (rows, length), (rows,), (rows,)])


def test_top_in_band_gives_the_band_s_best_in_order_and_the_first_is_the_best_passage_span():
    texts = [TEXT, TEXT[:12]]  # the second passage is shorter: its padding must never be a span
    start, end, no_answer, crossing = _scores(len(TEXT))
    start[1, 12:], end[1, 12:] = NEG, NEG  # as the network masks padding
    scores = (start, end, no_answer, crossing)
    found = top_in_band(*span_scores(*scores, texts), texts, 15)
    assert len(found) == 15
    assert [s.log_probability for s in found] == sorted((s.log_probability for s in found), reverse=True)
    assert all(0 <= s.start < s.end <= len(texts[s.passage]) and s.end - s.start <= MAX_ANSWER_CHARS for s in found)
    best = max(best_spans(*scores, texts), key=lambda s: s.log_probability)
    assert (found[0].passage, found[0].start, found[0].end) == (best.passage, best.start, best.end)
    assert found[0].log_probability == pytest.approx(best.log_probability)


def test_top_in_band_takes_the_earlier_passage_first_among_equal_scores():
    """Two chunks of the same text score alike; the passage's rank is a confidence feature, so the
    higher-ranked one must come first, every time."""
    start, end, no_answer, crossing = (np.asarray(x) for x in _scores(len(TEXT), rows=1, seed=4))
    twice = [np.repeat(x, 3, 0) for x in (start, end, no_answer, crossing)]
    found = top_in_band(*span_scores(*twice, [TEXT] * 3), [TEXT] * 3, 9)
    assert [s.passage for s in found[:3]] == [0, 1, 2]
    assert found[0].log_probability == found[1].log_probability == found[2].log_probability
    assert all(a.log_probability > b.log_probability or (a.passage, a.start, a.end) < (b.passage, b.start, b.end)
               for a, b in zip(found, found[1:]))


def test_candidates_have_distinct_texts_start_after_left_out_prefixes_and_know_the_best():
    text = "产量达3万吨"
    start = torch.full((1, len(text)), -10.0)
    end = torch.full((1, len(text)), -10.0)
    start[0, 2], start[0, 3], end[0, 5] = 5.0, 4.0, 5.0  # 达3万吨 first, then 3万吨: one text once trimmed
    band = span_scores(start, end, torch.zeros(1), torch.zeros(1), [text])
    found = candidates(band, [_encoded(text, [0, 1])], [_passage(text)], "产量多少", ("达",), count=4)
    texts = [c.text for c in found]
    assert texts[0] == "3万吨" and len(set(texts)) == len(texts) == 4
    assert all(c.best is found[0] for c in found) and [c.rank for c in found] == [0, 1, 2, 3]


def _candidate(text: str, start: int, end: int, word_flags: list[int], best: Candidate | None = None) -> Candidate:
    candidate = Candidate(PassageSpan(0, start, end, -1.0, -5.0), text[start:end], _passage(text),
                          _encoded(text, word_flags), rank=0, question_chars=frozenset("新增岗位多少"))
    candidate.best = best or candidate
    return candidate


def test_span_features_by_name_on_a_hand_made_span():
    # 新增岗位 (characters 2-5) are the question's words; 3万个 is 2 characters after them.
    first = _candidate(TEXT, 7, 10, [2, 3, 4, 5])
    row = dict(zip(SPAN_FEATURES, span_features([first])[0]))
    assert row["distance_to_question_word"] == 2.0
    assert row["holds_number"] == 1.0 and row["starts_with_number"] == 1.0 and row["is_percentage"] == 0.0
    assert row["answer_chars"] == 3.0 and row["question_char_share"] == 0.0
    assert row["bm25"] == 2.0 and row["no_answer_log_probability"] == -5.0 and row["gap_to_best"] == 0.0
    wider = _candidate(TEXT, 6, 10, [2, 3, 4, 5], best=first)
    percentage = _candidate(TEXT, 15, 19, [2, 3, 4, 5], best=first)
    nothing_asked = _candidate(TEXT, 15, 19, [])
    rows = {name: column for name, column in zip(SPAN_FEATURES, span_features([wider, percentage, nothing_asked]).T)}
    assert rows["holds_best"].tolist() == [1.0, 0.0, 0.0] and rows["inside_best"].tolist() == [0.0, 0.0, 0.0]
    assert rows["is_percentage"].tolist() == [0.0, 1.0, 1.0]
    assert rows["distance_to_question_word"].tolist() == [1.0, 10.0, FAR]


def _questions(count: int, rng: np.random.Generator):
    """Questions whose right candidate is the one nearest the question's words, not the reader's first."""
    features, labels = [], []
    for _ in range(count):
        rows = rng.normal(size=(CANDIDATES, len(SPAN_FEATURES)))
        rows[:, SPAN_FEATURES.index("start_pos")] = rng.integers(0, 5, CANDIDATES)
        rows[:, SPAN_FEATURES.index("end_pos")] = rng.integers(0, 5, CANDIDATES)
        distance = rng.uniform(0, 60, CANDIDATES)
        rows[:, SPAN_FEATURES.index("distance_to_question_word")] = distance
        features.append(rows)
        labels.append((distance == distance.min()).astype(np.float64))
    return features, labels


def test_the_ranker_learns_which_candidate_is_right():
    rng = np.random.default_rng(0)
    params = SpanRanker.fit(*_questions(400, rng))
    assert params["features"] == list(SPAN_FEATURES) and params["candidates"] == CANDIDATES
    ranker = SpanRanker(params)
    features, labels = _questions(100, rng)
    right = [labels[i][int(np.argmax(ranker.scores(features[i])))] for i in range(100)]
    assert np.mean(right) >= 0.8  # a blind pick is right one time in ten


def test_a_ranker_fitted_for_other_features_is_refused():
    params = SpanRanker.fit(*_questions(200, np.random.default_rng(1)))
    with pytest.raises(ValueError, match="other span features"):
        SpanRanker(dict(params, features=list(SPAN_FEATURES)[:-1]))


def test_the_ranker_and_each_reader_graph_run_on_one_thread_each():
    from qa.answer.model_file import load
    from qa.answer.predictor import Predictor

    predictor = Predictor(model=load())
    assert len(predictor.network.sessions) == 2  # the shipped reader's two members, a graph each
    for session in (predictor.ranker.session, *predictor.network.sessions):
        options = session.get_session_options()
        assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1

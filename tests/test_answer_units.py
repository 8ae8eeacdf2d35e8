"""The answer package's parts on small hand-made inputs: vocabulary, features, network, decoding, model file."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from qa.answer import model_file, weights
from qa.answer.confidence import CONFIDENCE_FEATURES, Calibrator
from qa.answer.decoding import MAX_ANSWER_CHARS, best_spans
from qa.answer.encoding import FLAGS, collate, encode_passage, encode_question, tag_arrays, words_of
from qa.answer.export import export
from qa.answer.graph import GraphReader
from qa.answer.network import NEG, ReaderConfig, ReaderEnsemble, ReaderNetwork
from qa.answer.vocabulary import BOUNDARIES, PAD, POS_IDS, UNKNOWN, CharVocabulary

VOCABULARY = CharVocabulary.build(["全市新增就业岗位3.2万个，同比增长5%。", "全市新增多少就业岗位"], min_count=1)


def test_vocabulary_folds_width_and_case_and_marks_unknown_characters():
    assert VOCABULARY.ids("３")[0] == VOCABULARY.ids("3")[0] != UNKNOWN
    assert VOCABULARY.ids("龘")[0] == UNKNOWN
    assert PAD not in VOCABULARY.ids("全市新增")
    assert len(CharVocabulary.build(["甲甲乙"], min_count=2)) == 3  # pad, unknown, 甲


def test_tag_arrays_mark_word_boundaries_and_parts_of_speech():
    pos, boundary = tag_arrays([(2, "ns"), (1, "v"), (3, "n")], 6)
    assert [BOUNDARIES[b] for b in boundary] == ["B", "E", "S", "B", "M", "E"]
    assert pos[0] == pos[1] == POS_IDS["ns"] and pos[2] == POS_IDS["v"]
    assert tag_arrays([(2, "unknown-tag")], 2)[0][0] == POS_IDS["x"]


def test_tag_arrays_cut_at_the_length_end_the_cut_word_and_leave_the_rest_empty():
    pos, boundary = tag_arrays([(2, "ns"), (3, "n")], 4)  # the second word is cut after 2 characters
    assert [BOUNDARIES[b] for b in boundary] == ["B", "E", "B", "E"]
    pos, boundary = tag_arrays([(3, "n")], 1)
    assert [BOUNDARIES[b] for b in boundary] == ["E"]
    pos, boundary = tag_arrays([(2, "v")], 4)  # words shorter than the text: the rest stays padding
    assert boundary.tolist()[2:] == [0, 0] and pos.tolist()[2:] == [0, 0]


def test_words_leave_out_punctuation_and_fold_width():
    assert words_of("ＡＢ，徐州", [(2, "eng"), (1, "x"), (2, "ns")]) == [(0, 2, "ab"), (3, 5, "徐州")]
    assert words_of(" 徐州\r", [(3, "ns"), (1, "x")]) == [(0, 3, "徐州")]  # stripped; a lone \r is no word
    assert words_of("İ徐州", [(1, "eng"), (2, "ns")])[1] == (1, 3, "徐州")  # İ lower-cases to two characters


def test_passage_flags_mark_the_question_s_characters_and_words():
    question = encode_question("全市新增多少就业岗位", VOCABULARY, tags=[(2, "n"), (2, "v"), (2, "m"), (2, "vn"), (2, "n")])
    text = "全市新增就业岗位3.2万个"
    passage = encode_passage(text, [(2, "n"), (2, "v"), (2, "vn"), (2, "n"), (3, "m"), (2, "m")], question, VOCABULARY)
    char_flag, word_flag = passage.flags[:, FLAGS.index("char_in_question")], passage.flags[:, FLAGS.index("word_in_question")]
    assert char_flag[:8].all() and not char_flag[8:].any()
    assert word_flag[:8].all() and not word_flag[8:].any()


def test_sentence_coverage_is_the_share_of_the_question_in_each_sentence():
    question = encode_question("新增多少岗位", VOCABULARY, tags=[(2, "v"), (2, "m"), (2, "n")])
    text = "全市新增岗位3万个。岗位不少。"
    tags = [(2, "n"), (2, "v"), (2, "n"), (1, "m"), (2, "m"), (1, "x"), (2, "n"), (2, "m"), (1, "x")]
    passage = encode_passage(text, tags, question, VOCABULARY)
    chars = passage.flags[:, FLAGS.index("sentence_char_coverage")]
    words = passage.flags[:, FLAGS.index("sentence_word_coverage")]
    # The first sentence holds 新增 and 岗位 (4 of the question's 6 characters, 2 of its 3 words);
    # the second holds 岗位 and 少 (3 characters, 1 word); every character carries its sentence's share.
    assert np.allclose(chars[:10], 4 / 6) and np.allclose(words[:10], 2 / 3)
    assert np.allclose(chars[10:], 3 / 6) and np.allclose(words[10:], 1 / 3)


def test_collate_pads_and_masks():
    question = encode_question("多少", VOCABULARY, tags=[(2, "m")])
    short = encode_passage("增长5%", [(2, "v"), (2, "m")], question, VOCABULARY)
    long = encode_passage("全市新增就业岗位", [(2, "n"), (2, "v"), (4, "n")], question, VOCABULARY)
    batch = collate([(question, short), (question, long)])
    assert batch.passage_chars.shape == (2, 8)
    assert batch.passage_mask.sum(1).tolist() == [4, 8]
    assert batch.passage_flags.shape == (2, 8, len(FLAGS))


def _network() -> ReaderNetwork:
    torch.manual_seed(0)
    network = ReaderNetwork(ReaderConfig(vocabulary_size=len(VOCABULARY), hidden=16)).eval()
    with torch.no_grad():  # the crossing head starts at zero; give it weights so comparisons see it
        network.crossing.weight.normal_()
        network.crossing.bias.fill_(0.5)
    return network


def test_network_scores_ignore_padding():
    network = _network()
    question = encode_question("新增多少", VOCABULARY, tags=[(2, "v"), (2, "m")])
    short = encode_passage("增长5%", [(2, "v"), (2, "m")], question, VOCABULARY)
    long = encode_passage("全市新增就业岗位3.2万个", [(2, "n"), (2, "v"), (4, "n"), (5, "m")], question, VOCABULARY)
    with torch.inference_mode():
        alone = network(collate([(question, short)]))
        padded = network(collate([(question, short), (question, long)]))
    assert torch.allclose(alone[0][0], padded[0][0, :4], atol=1e-5)
    assert torch.allclose(alone[2][0], padded[2][0], atol=1e-5)
    assert (padded[0][0, 4:] == NEG).all()


def test_the_exported_graph_scores_as_the_trained_network_for_any_batch_shape():
    network = _network()
    graph = GraphReader([export(network)])
    question = encode_question("全市新增多少就业岗位", VOCABULARY)
    texts = ["增长5%", "全市新增就业岗位3.2万个，同比增长5%。" * 12]
    passages = [encode_passage(t, [(1, "x")] * len(t), question, VOCABULARY) for t in texts]
    for batch in ([(question, passages[0])], [(question, p) for p in passages]):
        with torch.inference_mode():
            for eager, exported in zip(network(collate(batch)), graph(collate(batch)), strict=True):
                assert isinstance(exported, np.ndarray) and eager.shape == exported.shape
                assert np.allclose(eager.numpy(), exported, atol=1e-5)
    assert not network.training  # exporting leaves the network's mode as it was


def test_an_ensemble_averages_its_members_scores_and_one_member_is_the_member():
    first = _network()
    torch.manual_seed(2)
    second = ReaderNetwork(first.config).eval()
    question = encode_question("新增多少", VOCABULARY, tags=[(2, "v"), (2, "m")])
    passage = encode_passage("全市新增就业岗位3.2万个", [(2, "n"), (2, "v"), (4, "n"), (5, "m")], question, VOCABULARY)
    batch = collate([(question, passage)])
    graphs = GraphReader([export(first), export(second)])
    with torch.inference_mode():
        a, b = first(batch), second(batch)
        eager = ReaderEnsemble([first, second])(batch)
        alone = ReaderEnsemble([first])(batch)
    for x, y, mean, in_turn, at_once in zip(a, b, eager, graphs(batch), graphs(batch, parallel=True), strict=True):
        assert torch.allclose(mean, (x + y) / 2, atol=1e-5)
        assert np.allclose(in_turn, mean.numpy(), atol=1e-5)
        assert np.array_equal(in_turn, at_once)
    for x, y in zip(a, alone):
        assert torch.equal(x, y)


class _ThreadNoting:
    """An ONNX Runtime session that notes the thread each run is made on, and runs as the session does."""

    def __init__(self, session):
        self.session, self.threads = session, []

    def run(self, *arguments):
        self.threads.append(threading.current_thread().name)
        return self.session.run(*arguments)


def test_the_members_read_at_once_only_when_asked():
    first = _network()
    torch.manual_seed(2)
    graphs = GraphReader([export(first), export(ReaderNetwork(first.config).eval())])
    graphs.sessions = [_ThreadNoting(session) for session in graphs.sessions]
    question = encode_question("新增多少", VOCABULARY)
    batch = collate([(question, encode_passage("全市新增就业岗位3.2万个", [(11, "x")], question, VOCABULARY))])
    graphs(batch)
    graphs(batch, parallel=True)
    here = threading.current_thread().name
    assert graphs.sessions[0].threads == [here, here]  # the first member reads on the question's thread
    assert graphs.sessions[1].threads[0] == here and graphs.sessions[1].threads[1] != here
    with pytest.raises(ValueError):
        GraphReader([])


class _HoldingFirstRun(_ThreadNoting):
    """A session whose first run waits until released, so that another reading starts meanwhile."""

    def __init__(self, session):
        super().__init__(session)
        self.started, self.release = threading.Event(), threading.Event()

    def run(self, *arguments):
        if not self.started.is_set():
            self.started.set()
            assert self.release.wait(10)
        return super().run(*arguments)


def test_a_reading_beside_another_reads_its_members_in_turn():
    first = _network()
    torch.manual_seed(2)
    graphs = GraphReader([export(first), export(ReaderNetwork(first.config).eval())])
    graphs.sessions = [_HoldingFirstRun(graphs.sessions[0]), _ThreadNoting(graphs.sessions[1])]
    question = encode_question("新增多少", VOCABULARY)
    batch = collate([(question, encode_passage("全市新增就业岗位3.2万个", [(11, "x")], question, VOCABULARY))])
    earlier = threading.Thread(target=graphs, args=(batch, True), name="earlier")
    earlier.start()
    assert graphs.sessions[0].started.wait(10)  # the earlier reading is under way, its second member handed off
    alongside = graphs(batch, parallel=True)
    graphs.sessions[0].release.set()
    earlier.join(10)
    here = threading.current_thread().name
    assert here in graphs.sessions[1].threads  # read beside another: the second member on this thread
    assert sorted(graphs.sessions[1].threads) != [here, here]  # the earlier reading had handed it to the pool
    assert sorted(graphs.sessions[0].threads) == sorted(["earlier", here])  # first members on their callers
    for mine, alone in zip(alongside, graphs(batch), strict=True):
        assert np.array_equal(mine, alone)


def test_best_span_equals_the_best_allowed_pair_by_brute_force():
    generator = torch.Generator().manual_seed(1)
    sigmoid = torch.nn.functional.logsigmoid
    for width in (1, 7, MAX_ANSWER_CHARS + 9):
        for crossing in (torch.zeros(2), torch.tensor([-2.0, 1.5])):
            start, end = torch.randn(2, width, generator=generator), torch.randn(2, width, generator=generator)
            texts = ["".join("，" if x < 0.15 else "字" for x in torch.rand(width, generator=generator).tolist())
                     for _ in range(2)]
            spans = best_spans(start, end, torch.zeros(2), crossing, texts)
            for row, span in enumerate(spans):
                def score(pair, row=row):
                    i, j = pair
                    holds = "，" in texts[row][i : j + 1]
                    gate = sigmoid(crossing[row]) if holds else sigmoid(-crossing[row])
                    return float(start[row, i] + end[row, j] + gate)
                best = max(((i, j) for i in range(width) for j in range(i, min(width, i + MAX_ANSWER_CHARS))), key=score)
                assert (span.start, span.end - 1) == best


def test_best_span_is_the_most_probable_pair_within_the_length_cap():
    start = torch.full((2, 6), -5.0)
    end = torch.full((2, 6), -5.0)
    start[0, 1], end[0, 3] = 4.0, 4.0  # span 1..3 in the first passage
    start[1, 4], end[1, 2] = 9.0, 9.0  # an end before its start: not a span
    spans = best_spans(start, end, torch.tensor([0.0, 20.0]), torch.zeros(2), ["x" * 6] * 2)
    assert (spans[0].start, spans[0].end) == (1, 4)
    assert spans[0].log_probability > spans[1].log_probability
    assert spans[1].no_answer > spans[0].no_answer  # the second passage says "no answer here"
    assert spans[1].end - spans[1].start <= MAX_ANSWER_CHARS


def test_best_span_stays_inside_the_passage():
    start, end = torch.zeros(1, 10), torch.zeros(1, 10)
    end[0, 9] = 50.0
    span = best_spans(start, end, torch.zeros(1), torch.zeros(1), ["x" * 4])[0]
    assert span.end <= 4


def test_the_crossing_score_weighs_spans_over_a_clause_break():
    text = "达28万人，全年销售额超35亿元"
    start, end = torch.full((1, len(text)), -9.0), torch.full((1, len(text)), -9.0)
    start[0, text.index("28")], end[0, text.index("人")] = 2.0, 2.0  # 28万人: no break inside
    end[0, text.index("元")] = 2.5  # 28万人，全年销售额超35亿元: a break inside, slightly preferred alone
    spans = {crossing: best_spans(start, end, torch.zeros(1), torch.tensor([crossing]), [text])[0]
             for crossing in (-4.0, 0.0, 4.0)}
    assert text[spans[0.0].start : spans[0.0].end] == "28万人，全年销售额超35亿元"  # neutral: the scores decide
    assert text[spans[4.0].start : spans[4.0].end] == "28万人，全年销售额超35亿元"
    assert text[spans[-4.0].start : spans[-4.0].end] == "28万人"
    # The weight is a log-probability: a span without a break gains log(1 - sigmoid(crossing)).
    assert spans[-4.0].log_probability == pytest.approx(spans[0.0].log_probability - 0.5
                                                        + float(torch.nn.functional.logsigmoid(torch.tensor(4.0)))
                                                        - float(torch.nn.functional.logsigmoid(torch.tensor(0.0))),
                                                        abs=1e-4)


def test_calibrator_refuses_other_features_and_is_monotonic_in_its_signal():
    params = Calibrator.identity()
    calibrator = Calibrator(params)
    low, high = np.zeros(len(CONFIDENCE_FEATURES)), np.zeros(len(CONFIDENCE_FEATURES))
    high[CONFIDENCE_FEATURES.index("span_over_no_answer")] = 3.0
    assert 0.0 < calibrator(low) < calibrator(high) < 1.0
    with pytest.raises(ValueError):
        Calibrator({**params, "features": ["something else"]})


def _two_members() -> tuple[ReaderNetwork, ReaderNetwork]:
    network = _network()
    torch.manual_seed(1)
    return network, ReaderNetwork(network.config).eval()


def _scores_equal(first, second, atol: float) -> bool:
    question = encode_question("新增多少", VOCABULARY, tags=[(2, "v"), (2, "m")])
    batch = collate([(question, encode_passage("全市新增就业岗位3.2万个", [(11, "x")], question, VOCABULARY))])
    with torch.inference_mode():
        return all(np.allclose(np.asarray(a), np.asarray(b), atol=atol)
                   for a, b in zip(first(batch), second(batch), strict=True))


def test_model_file_round_trip_and_version_check(tmp_path):
    network, second = _two_members()
    data = weights.bundle([network, second], VOCABULARY, Calibrator.identity(), {"note": "test", "seeds": [13, 14]})
    data["span_ranker"] = {"features": ["a"], "graph": b"trees", "questions": 3}
    model_file.save(data, tmp_path / "reader.zip")
    read = model_file.load(tmp_path / "reader.zip")
    assert read["training"] == data["training"] and read["span_ranker"] == data["span_ranker"]
    loaded, vocabulary, _ = weights.network_of(read)
    assert vocabulary.chars == VOCABULARY.chars
    for original, member in zip([network, second], loaded.members, strict=True):
        for name, tensor in original.state_dict().items():
            assert torch.equal(tensor, member.state_dict()[name])
    for_reading = model_file.load(tmp_path / "reader.zip", states=False)  # as a Predictor loads it
    assert "states" not in for_reading and for_reading["graphs"] == data["graphs"]
    with pytest.raises(ValueError, match="lose"):  # saved again, it would lose the weights
        model_file.save(for_reading, tmp_path / "reader.zip")
    graph, vocabulary, _ = model_file.reader_of(for_reading)
    assert _scores_equal(loaded, graph, atol=1e-5)  # the saved graphs read as the saved weights do
    with pytest.raises(ValueError):  # members of other sizes cannot be read as one
        weights.bundle([network, ReaderNetwork(ReaderConfig(vocabulary_size=len(VOCABULARY), hidden=8))],
                       VOCABULARY, Calibrator.identity(), {})
    # A bundle saved before the crossing head existed loads only when that head may be missing.
    before_heads = {**data, "states": [{k: v for k, v in state.items() if not k.startswith("crossing.")}
                                       for state in data["states"]]}
    with pytest.raises(RuntimeError):
        weights.members_of(before_heads)
    with pytest.raises(model_file.ModelMismatchError):
        weights.members_of(before_heads, missing_ok="start.")
    for member in weights.members_of(before_heads, missing_ok="crossing."):
        assert member.crossing.weight.abs().sum() == 0 and member.crossing.bias.abs().sum() == 0
    data["versions"] = {**data["versions"], "features": -1}
    model_file.save(data, tmp_path / "old.zip")
    with pytest.raises(model_file.ModelMismatchError, match="retrain"):
        model_file.load(tmp_path / "old.zip")
    (tmp_path / "text.zip").write_text("not a model")
    with pytest.raises(model_file.ModelMismatchError, match="python -m qa.answer.weights"):
        model_file.load(tmp_path / "text.zip")


def _as_pytorch_file(data: dict, format: int, members: list[ReaderNetwork]) -> dict:
    """A bundle as formats 4 and 5 wrote it with torch.save: tensors, and bytes in byte tensors;
    format 4 held one graph of the whole ensemble."""
    old = {key: value for key, value in data.items() if key not in ("graphs", "states")}
    old["states"] = [{name: torch.from_numpy(array) for name, array in state.items()} for state in data["states"]]
    as_tensor = lambda raw: torch.frombuffer(bytearray(raw), dtype=torch.uint8)  # noqa: E731
    if format == 4:
        old["graph"] = as_tensor(export(ReaderEnsemble(members)))
    else:
        old["graphs"] = [as_tensor(graph) for graph in data["graphs"]]
    old["span_ranker"] = {**data["span_ranker"], "graph": as_tensor(data["span_ranker"]["graph"])}
    old["versions"] = {**data["versions"], "format": format}
    return old


@pytest.mark.parametrize("format", [4, 5])
def test_a_pytorch_model_file_is_refused_with_the_way_to_convert_it_and_converts_to_the_same_scores(tmp_path, format):
    network, second = _two_members()
    data = weights.bundle([network, second], VOCABULARY, Calibrator.identity(), {"note": "test"})
    data["span_ranker"] = {"features": ["a"], "graph": b"trees", "questions": 3}
    path = tmp_path / "reader.pt"
    torch.save(_as_pytorch_file(data, format, [network, second]), path)
    with pytest.raises(model_file.ModelMismatchError, match="python -m qa.answer.weights"):
        model_file.load(path)
    converted = weights.upgrade(path)
    assert converted == tmp_path / "reader.zip" and path.exists()  # written beside it; the old file is kept
    read = model_file.load(converted)
    assert read["span_ranker"] == data["span_ranker"] and read["calibrator"] == data["calibrator"]
    graphs, _, _ = model_file.reader_of(read)
    assert _scores_equal(ReaderEnsemble([network, second]), graphs, atol=1e-5)
    other = _as_pytorch_file(data, format, [network, second])
    other["versions"]["features"] = -1  # other features: only retraining helps
    torch.save(other, path)
    with pytest.raises(model_file.ModelMismatchError, match="retrain"):
        weights.upgrade(path)


def test_a_question_of_rare_ideographs_is_tagged_by_the_dictionary_alone():
    """Bounded work: jieba's tagging HMM costs milliseconds per ideograph it has no statistics for."""
    import random

    import jieba.posseg

    from qa.answer.encoding import MAX_UNSEEN_FOR_HMM
    from qa.tokenization import pos_tags

    rng = random.Random(0)
    rare = "".join(c for c in (chr(rng.randint(0x9000, 0x9FFF)) for _ in range(400))
                   if c not in jieba.posseg.char_state_tab_P)[:100]
    assert len(rare) == 100
    dictionary_only = [(len(p.word), p.flag) for p in jieba.posseg.lcut(rare, HMM=False)]
    assert pos_tags(rare, MAX_UNSEEN_FOR_HMM) == dictionary_only
    question = "株洲截至4月底签约了多少个项目？"
    assert pos_tags(question, MAX_UNSEEN_FOR_HMM) == pos_tags(question)  # real questions keep the HMM


def test_reading_s_log_probabilities_are_training_s():
    """decoding (numpy, for reading) and the loss (PyTorch, for gradients) take the same softmax."""
    from qa.answer.decoding import log_probabilities
    from qa.answer.network import null_first_log_softmax

    generator = torch.Generator().manual_seed(3)
    start, end, no_answer = torch.randn(3, 9, generator=generator) * 4, torch.randn(3, 9, generator=generator), torch.randn(3)
    start_lp, end_lp, null_lp = log_probabilities(start.numpy(), end.numpy(), no_answer.numpy())
    trained_start, trained_end = null_first_log_softmax(start, no_answer), null_first_log_softmax(end, no_answer)
    assert np.allclose(start_lp, trained_start[:, 1:].numpy(), atol=1e-5)
    assert np.allclose(end_lp, trained_end[:, 1:].numpy(), atol=1e-5)
    assert np.allclose(null_lp, (trained_start[:, 0] + trained_end[:, 0]).numpy(), atol=1e-5)


def test_either_kind_of_model_file_is_read_unchecked_for_refitting(tmp_path):
    network, second = _two_members()
    data = weights.bundle([network, second], VOCABULARY, Calibrator.identity(), {"note": "test"})
    data["span_ranker"] = {"features": ["a"], "graph": b"trees", "questions": 3}
    model_file.save(data, tmp_path / "reader.zip")
    torch.save(_as_pytorch_file(data, 5, [network, second]), tmp_path / "reader.pt")
    for path in (tmp_path / "reader.zip", tmp_path / "reader.pt"):
        for original, member in zip([network, second], weights.members_of(weights.read_any(path)), strict=True):
            assert all(torch.equal(tensor, member.state_dict()[name]) for name, tensor in original.state_dict().items())

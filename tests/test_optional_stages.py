"""The optional cross-encoder reranker and neural reader, with tiny randomly initialised models.

No weights can be downloaded here, so each test builds a small BERT of the right
architecture (and a character vocabulary from the corpus) into a temporary folder,
and checks that the engine loads it, runs it and merges its output.
"""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertForQuestionAnswering, BertForSequenceClassification, BertTokenizerFast

from qa.engine import Engine

SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def _tiny(folder, model_class, settings, **config):
    """Save a tiny random BERT of model_class with a character tokenizer into folder."""
    text = "".join(path.read_text("utf-8") for path in sorted(settings.corpus_dir.glob("*.txt")))
    chars = sorted({c for c in text if not c.isspace()} | set("0123456789abcdefghijklmnopqrstuvwxyz"))
    folder.mkdir()
    (folder / "vocab.txt").write_text("\n".join(SPECIAL + chars), "utf-8")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), tokenize_chinese_chars=True).save_pretrained(folder)
    torch.manual_seed(0)
    bert = BertConfig(vocab_size=len(SPECIAL) + len(chars), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=512, **config)
    model_class(bert).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def reranker_folder(tmp_path_factory, settings):
    return _tiny(tmp_path_factory.mktemp("ce") / "model", BertForSequenceClassification, settings, num_labels=1)


@pytest.fixture(scope="module")
def reader_folder(tmp_path_factory, settings):
    return _tiny(tmp_path_factory.mktemp("reader") / "model", BertForQuestionAnswering, settings)


def test_cross_encoder_reranks_the_retrieved_candidates(seed_index, settings, reranker_folder):
    plain = Engine.load(seed_index, settings)
    reranked = Engine.load(seed_index, settings.model_copy(update={"reranker_model": str(reranker_folder)}))
    question = "徐州缓缴社保多少"
    candidates = {p.chunk.id for p in plain.retrieve(question, settings.candidates)}
    passages = reranked.retrieve(question)
    assert reranked.reranker is not None
    assert len(passages) == settings.top_k
    assert [p.rank for p in passages] == list(range(1, settings.top_k + 1))
    assert {p.chunk.id for p in passages} <= candidates
    scores = reranked.reranker.model.predict([(question, p.chunk.text) for p in passages])
    assert list(scores) == sorted(scores, reverse=True), "passages come in cross-encoder order"
    answer = reranked.ask(question)
    assert answer.abstained or answer.answer in answer.sentence


def test_neural_reader_answer_replaces_the_selected_span(seed_index, settings, reader_folder):
    engine = Engine.load(seed_index, settings.model_copy(update={"reader_model": str(reader_folder), "abstain_threshold": 0.0}))
    assert engine.reader is not None
    answer = engine.ask("徐州缓缴社保多少")
    span = engine.reader.read("徐州缓缴社保多少", engine.retrieve("徐州缓缴社保多少"))
    assert answer.answer == span.passage.chunk.text[span.start : span.end]
    assert answer.confidence == pytest.approx(span.probability, abs=1e-4)
    start, end = answer.answer_in_sentence
    assert answer.sentence[start:end] == answer.answer
    article = (settings.corpus_dir / f"{answer.source.article_id}.txt").read_text("utf-8")
    assert article[answer.source.start : answer.source.end].replace("\n", "") == answer.answer.replace("\n", "")


def test_an_unloadable_optional_model_is_a_clear_error(seed_index, settings, tmp_path):
    with pytest.raises(ValueError, match="cannot load reader model"):
        Engine.load(seed_index, settings.model_copy(update={"reader_model": str(tmp_path / "missing")}))

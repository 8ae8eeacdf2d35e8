"""The answer decision: ``Predictor.predict(question, passages)`` → the answer span, or an abstention.

One learned component decides: the reader network scores every span of every
passage and "no answer here" for each; the most probable span wins; the
calibrator turns what was seen into a confidence, and under the threshold chosen
on dev the answer is withheld. A span that starts on a word annotators leave out
before a number (至 in 至343家) starts after it (qa.answer.prefixes, learned from the
training answers). There are no hand-set overrides. Training
(eval/train_reader.py), evaluation and serving all call this code.
Nothing is generated: the answer is always a substring of an article.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from qa.answer.confidence import confidence_features
from qa.answer.decoding import PassageSpan, best_spans
from qa.answer.encoding import EncodedQuestion, collate, encode_passage, encode_question
from qa.answer.model_file import load, reader_of
from qa.answer.prefixes import trim
from qa.text import sentence_around
from qa.types import Answer, Passage, Source

# Bounds on the work one question can cause, whatever its length: characters of the question
# and of each passage that the reader looks at.
MAX_QUESTION_CHARS = 128
MAX_PASSAGE_CHARS = 400


@dataclass
class Reading:
    """What the reader made of a question and its passages: the passages it read (those with text),
    every one's best span (indexed like them), and the chosen span."""

    passages: list[Passage]
    spans: list[PassageSpan]
    chosen: int | None

    def answer(self) -> str:
        """The chosen span's text ("" when nothing was chosen)."""
        if self.chosen is None:
            return ""
        best = self.spans[self.chosen]
        return self.passages[best.passage].chunk.text[best.start : best.end]

    def confidence_features(self) -> np.ndarray:
        """The calibrator's inputs for the chosen span (qa.answer.confidence)."""
        return confidence_features(self.spans, self.chosen, self.passages)


class Predictor:
    """Reads passages and picks the answer span; one instance serves many threads."""

    def __init__(self, title: Callable[[str], str] = str, model: dict | None = None, abstain_threshold: float | None = None):
        data = model or load()
        self.network, self.vocabulary, self.calibrator = reader_of(data)
        # Words before a number that annotators leave out (qa.answer.prefixes), learned with the reader;
        # a model file without them trims nothing.
        self.left_out_prefixes = tuple(data.get("left_out_prefixes", ()))
        self.title = title
        self.threshold = self.calibrator.threshold if abstain_threshold is None else abstain_threshold

    def with_title(self, title: Callable[[str], str]) -> "Predictor":
        """The same model (shared, read-only) naming articles with another lookup: for a new index generation."""
        twin = copy.copy(self)
        twin.title = title
        return twin

    def analyse(self, question: str) -> EncodedQuestion:
        """What reading needs of the question alone (its characters, jieba's tags, its words): a caller
        may compute it while the passages are still being retrieved, and hand it to predict or read."""
        return encode_question(question[:MAX_QUESTION_CHARS], self.vocabulary)

    def read(self, question: str, passages: list[Passage], analysed: EncodedQuestion | None = None) -> Reading:
        """Every passage's most probable span; chosen is the best of them (None without passages).
        analysed: the question's analysis made earlier (analyse); made here when absent or of another question."""
        passages = [p for p in passages if p.chunk.text]
        if not passages or not question:
            return Reading(passages, [], None)
        asked = analysed if analysed is not None and analysed.text == question[:MAX_QUESTION_CHARS] else self.analyse(question)
        encoded = [
            encode_passage(p.chunk.text[:MAX_PASSAGE_CHARS], p.chunk.tags, asked, self.vocabulary) for p in passages
        ]
        with torch.inference_mode():
            scores = self.network(collate([(asked, e) for e in encoded]))
        spans = [replace(span, start=trim(encoded[span.passage].text, span.start, span.end, self.left_out_prefixes))
                 for span in best_spans(*scores, [e.text for e in encoded])]
        chosen = max(range(len(spans)), key=lambda i: spans[i].log_probability)
        return Reading(passages, spans, chosen)

    def confidence(self, reading: Reading) -> float:
        """The calibrated probability that the reading's chosen span is right (it must have one)."""
        return self.calibrator(reading.confidence_features())

    def predict(self, question: str, passages: list[Passage], analysed: EncodedQuestion | None = None) -> Answer:
        """The answer to the question from the passages, with its sentence, source and confidence
        (analysed: as read takes it)."""
        reading = self.read(question, passages, analysed)
        if reading.chosen is None:
            return Answer(question=question, answer="", sentence="", confidence=0.0, abstained=True)
        best = reading.spans[reading.chosen]
        passage = reading.passages[best.passage]
        return self.answer_at(question, passage, sentence_around(passage.chunk.text, best.start, best.end),
                              (best.start, best.end), self.confidence(reading))

    def answer_at(self, question: str, passage: Passage, sentence: tuple[int, int], span: tuple[int, int],
                  confidence: float) -> Answer:
        """The result for a span of a passage's chunk (positions in the chunk text), abstaining when
        the confidence is under the threshold."""
        chunk = passage.chunk
        (s_start, s_end), (start, end) = sentence, span
        if confidence < self.threshold:
            return Answer(question=question, answer="", sentence="", confidence=round(confidence, 4), abstained=True)
        source = Source(
            article_id=chunk.article_id,
            title=self.title(chunk.article_id),
            heading=chunk.heading,
            paragraph=chunk.paragraph,
            chunk_id=chunk.id,
            start=chunk.article_offset(start),
            end=chunk.article_offset(end - 1) + 1,
            sentence_start=chunk.article_offset(s_start),
            sentence_end=chunk.article_offset(s_end - 1) + 1,
        )
        return Answer(
            question=question,
            answer=chunk.text[start:end],
            sentence=chunk.text[s_start:s_end],
            answer_in_sentence=(start - s_start, end - s_start),
            source=source,
            confidence=round(confidence, 4),
            abstained=False,
        )


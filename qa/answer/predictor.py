"""The answer decision: ``Predictor.predict(question, passages)`` → the answer span, or an abstention.

Learned components decide: the reader network scores every span of every
passage and "no answer here" for each; the span ranker (qa.answer.ranking) chooses
the answer among the reader's ten most probable spans (a model file without one
takes the most probable); the calibrator turns what was seen into a confidence,
and under the threshold chosen on dev the answer is withheld. A span that starts on a word annotators leave out
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

from qa.answer.confidence import confidence_features
from qa.answer.decoding import PassageSpan, best_in_band, span_scores
from qa.answer.encoding import EncodedQuestion, collate, encode_passage, encode_question
from qa.answer.model_file import load, reader_of
from qa.answer.prefixes import trim
from qa.answer.ranking import CANDIDATES, SpanRanker, candidates
from qa.answer.span_features import Candidate
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

    def __init__(
        self,
        title: Callable[[str], str] = str,
        model: dict | None = None,
        abstain_threshold: float | None = None,
        parallel: bool = False,
    ):
        """parallel: the reader's members may read at once, in threads, when no other question is being read
        (qa.answer.graph); else always one after the other."""
        data = model or load(states=False)  # the graphs read; the weights are for training
        self.network, self.vocabulary, self.calibrator = reader_of(data)
        # Words before a number that annotators leave out (qa.answer.prefixes), learned with the reader;
        # a model file without them trims nothing.
        self.left_out_prefixes = tuple(data.get("left_out_prefixes", ()))
        # The span ranker (qa.answer.ranking), trained with the reader; a model file without one
        # answers the reader's most probable span.
        self.ranker = SpanRanker(data["span_ranker"]) if data.get("span_ranker") else None
        self.title = title
        self.threshold = self.calibrator.threshold if abstain_threshold is None else abstain_threshold
        self.parallel = parallel

    def sharing(self, title: Callable[[str], str], parallel: bool) -> "Predictor":
        """The same model (shared, read-only) naming articles with another lookup and reading as parallel says:
        for a new index generation or other settings."""
        twin = copy.copy(self)
        twin.title, twin.parallel = title, parallel
        return twin

    def analyse(self, question: str) -> EncodedQuestion:
        """What reading needs of the question alone (its characters, jieba's tags, its words): a caller
        may compute it while the passages are still being retrieved, and hand it to predict or read."""
        return encode_question(question[:MAX_QUESTION_CHARS], self.vocabulary)

    def _scored(self, question: str, passages: list[Passage], analysed: EncodedQuestion | None = None) -> tuple:
        """The passages with text, their encodings and the network's scores for them (None when there is
        nothing to read). analysed: as read takes it."""
        passages = [p for p in passages if p.chunk.text]
        if not passages or not question:
            return passages, [], None
        asked = analysed if analysed is not None and analysed.text == question[:MAX_QUESTION_CHARS] else self.analyse(question)
        encoded = [
            encode_passage(p.chunk.text[:MAX_PASSAGE_CHARS], p.chunk.tags, asked, self.vocabulary) for p in passages
        ]
        scores = self.network(collate([(asked, e) for e in encoded]), self.parallel)
        return passages, encoded, scores

    def read(self, question: str, passages: list[Passage], analysed: EncodedQuestion | None = None) -> Reading:
        """Every passage's most probable span and the chosen span: the span ranker's choice among the
        reader's most probable spans, or without a ranker the best of the passages' (None without passages).
        analysed: the question's analysis made earlier (analyse); made here when absent or of another question."""
        passages, encoded, scores = self._scored(question, passages, analysed)
        if scores is None:
            return Reading(passages, [], None)
        texts = [e.text for e in encoded]
        band = span_scores(*scores, texts)
        spans = [replace(span, start=trim(texts[span.passage], span.start, span.end, self.left_out_prefixes))
                 for span in best_in_band(*band, texts)]
        chosen = max(range(len(spans)), key=lambda i: spans[i].log_probability)
        if self.ranker is not None:
            found = self._candidates(question, passages, encoded, band, self.ranker.candidates)
            if found:
                # The ranked answer stands for its passage among the passages' best spans, which the
                # confidence compares (qa.answer.confidence).
                winner = found[self.ranker.choose(found)].span
                spans[winner.passage], chosen = winner, winner.passage
        return Reading(passages, spans, chosen)

    def candidates(self, question: str, passages: list[Passage]) -> list[Candidate]:
        """The candidate spans the ranker chooses among, with what their features are made of: for
        training the ranker on the spans exactly as they are read here."""
        passages, encoded, scores = self._scored(question, passages)
        if scores is None:
            return []
        return self._candidates(question, passages, encoded, span_scores(*scores, [e.text for e in encoded]), CANDIDATES)

    def _candidates(self, question: str, passages: list[Passage], encoded: list, band: tuple, count: int) -> list[Candidate]:
        """The count most probable spans of the band (decoding.span_scores) as the ranker reads them."""
        return candidates(band, encoded, passages, question[:MAX_QUESTION_CHARS], self.left_out_prefixes, count)

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


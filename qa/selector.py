"""The extractive answer selector: from retrieved passages to the answer span, sentence and source.

Steps: analyse the question; split the passages into sentences and keep the best
few; score every candidate span of those with the span ranker; take the best; rate
it with the calibrator; abstain when the confidence is under the threshold.
Nothing is generated: the answer is always a substring of an article.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qa.calibration import CONFIDENCE_FEATURES, Calibrator
from qa.evidence import SENTENCE_FEATURES, QuestionTerms, rank_sentences, split_passages
from qa.question import Question, analyze
from qa.ranker import SpanRanker, load_model_file
from qa.results import Answer, Source
from qa.retriever import Passage
from qa.spans import FEATURES, Candidates, candidates

SENTENCES_KEPT = 4
_F = {name: i for i, name in enumerate(FEATURES)}


class AnswerSelector:
    """Picks the answer span out of ranked passages, or abstains."""

    def __init__(
        self,
        idf: Callable[[list[str]], np.ndarray],
        title: Callable[[str], str],
        abstain_threshold: float,
        model: dict | None = None,
    ):
        model = model or load_model_file()
        if list(model["sentences"]["features"]) != list(SENTENCE_FEATURES):
            raise ValueError("the sentence model was trained for other features; retrain the answer model")
        self.sentence_weights = np.asarray(model["sentences"]["weights"], np.float32)
        self.ranker = SpanRanker(model["ranker"])
        self.calibrator = Calibrator(model["calibrator"])
        self.idf = idf
        self.title = title
        self.abstain_threshold = abstain_threshold

    def candidates(self, question: Question, passages: list[Passage]):
        """The evidence sentences and their candidate spans, for selection and for training."""
        terms = QuestionTerms(question, self.idf)
        sentences = rank_sentences(split_passages(passages, terms), terms, SENTENCES_KEPT, self.sentence_weights)
        return terms, sentences, candidates(question, terms, sentences)

    def select(self, question_text: str, passages: list[Passage]) -> Answer:
        """The best answer for the question in the passages."""
        question = analyze(question_text)
        terms, sentences, spans = self.candidates(question, passages)
        if not len(spans):
            return Answer(question=question_text, answer="", sentence="", confidence=0.0, abstained=True,
                          answer_type=question.answer_type)
        scores = self.ranker.score(spans.features)
        best = int(np.argmax(scores))
        sentence = sentences[spans.sentence[best]]
        start, end = int(spans.start[best]), int(spans.end[best])
        confidence = self.calibrator(self.confidence_features(question, scores, spans, best, sentence, terms))
        chunk = sentence.passage.chunk
        source = Source(
            article_id=chunk.article_id,
            title=self.title(chunk.article_id),
            heading=chunk.heading,
            paragraph=chunk.paragraph,
            chunk_id=chunk.id,
            start=chunk.article_offset(sentence.start + start),
            end=chunk.article_offset(sentence.start + end - 1) + 1,
            sentence_start=chunk.article_offset(sentence.start),
            sentence_end=chunk.article_offset(sentence.end - 1) + 1,
        )
        abstained = confidence < self.abstain_threshold
        return Answer(
            question=question_text,
            answer="" if abstained else sentence.text[start:end],
            sentence="" if abstained else sentence.text,
            answer_in_sentence=None if abstained else (start, end),
            source=None if abstained else source,
            confidence=round(confidence, 4),
            abstained=abstained,
            answer_type=question.answer_type,
        )

    def confidence_features(
        self, question: Question, scores: np.ndarray, spans: Candidates, best: int, sentence, terms: QuestionTerms
    ) -> np.ndarray:
        """The calibrator's inputs for the chosen span (see qa.calibration)."""
        shifted = np.exp(scores - scores.max())
        probability = shifted[best] / shifted.sum()
        # The runner-up that does not overlap the chosen span: overlapping spans are the same answer.
        overlap = (spans.sentence == spans.sentence[best]) & (spans.start < spans.end[best]) & (spans.end > spans.start[best])
        rivals = scores[~overlap]
        margin = float(scores[best] - rivals.max()) if len(rivals) else 5.0
        chunk = sentence.passage.chunk
        tokens, weights = terms.tokens, terms.weights
        context = f"{self.title(chunk.article_id)} {chunk.heading} {chunk.text}".lower()
        in_passage = np.array([t in context for t in tokens], bool)
        in_sentence = np.array([t in sentence.folded for t in tokens], bool)
        total = weights.sum() or 1.0
        missing = weights[~in_passage]
        row = spans.features[best]
        type_ok = {
            "quantity": row[_F["digit_share"]] > 0,
            "time": row[_F["digit_share"]] > 0 or row[_F["tag_time"]] > 0,
            "person": row[_F["tag_person"]] > 0 or row[_F["tag_foreign"]] > 0,
            "place": row[_F["tag_place"]] > 0 or row[_F["tag_foreign"]] > 0,
        }.get(question.answer_type, True)
        values = {
            "probability": probability,
            "margin": min(margin, 5.0) / 5.0,
            "score": float(np.tanh(scores[best] / 5.0)),
            "sentence_cover": len(terms.chars.intersection(sentence.folded)) / max(len(terms.chars), 1),
            "passage_cover": float(weights[in_passage].sum() / total),
            "sentence_token_cover": float(weights[in_sentence].sum() / total),
            "missing_idf": float(missing.max() / max(weights.max(), 1e-6)) if len(missing) else 0.0,
            "type_ok": float(type_ok),
            "dense": sentence.passage.dense,
        }
        return np.array([values[name] for name in CONFIDENCE_FEATURES], np.float64)

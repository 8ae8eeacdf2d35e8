"""The extractive answer selector: from retrieved passages to the answer span, sentence and source.

Steps: analyse the question; split the passages into sentences and keep the best
few; score every candidate span of those with the span ranker; take the best; rate
it with the calibrator, unless qa.rules rules it out; abstain when the confidence is
under the threshold.
Nothing is generated: the answer is always a substring of an article.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qa.calibration import CONFIDENCE_FEATURES, Calibrator
from qa.evidence import ANCHOR_CAP, SENTENCE_FEATURES, QuestionTerms, rank_sentences, split_passages
from qa.question import Question, analyze, subject_of
from qa.ranker import SpanRanker, load_model_file
from qa.results import Answer, Source
from qa.retriever import Passage
from qa.answer_types import STRICT_TYPES
from qa.text import fold
from qa.rules import about_another_place, cannot_be_right, same_place
from qa.spans import FEATURES, Candidates, candidates, span_text

SENTENCES_KEPT = 4
IN_GAP = 2 / ANCHOR_CAP  # two characters of the question on one side of a span, exactly
_F = {name: i for i, name in enumerate(FEATURES)}
_ANCHORS = ("left_near", "right_near", "left_distance", "right_distance", "repeats_question")
_ALIGNMENT = {"left_exact": 1.0, "right_exact": 1.0, "left_fuzzy": 0.5, "right_fuzzy": 0.5, "left_near": 0.5,
              "right_near": 0.5, "left_run": 1.0, "right_run": 1.0, "left_distance": -0.5, "right_distance": -0.5,
              "quoted": 0.5}
_ALIGN = [_F[name] for name in _ALIGNMENT]
_ALIGN_WEIGHTS = np.array(list(_ALIGNMENT.values()), np.float32)


def pick(question: Question, scores: np.ndarray, spans: Candidates, text_of) -> int:
    """The chosen candidate: the best-scored one, or, when the question asks for a shape, the span
    of that shape that best fills the question's gap in the best sentence that has one.

    Shapes: quantities, dates, people, places and lists (see qa.answer_types), preferring the
    question's unit (多少件 → …件); for 什么 questions a quoted name (“苏贸贷”, 《意见》) in the two
    best sentences. A span that only repeats the question (截至4月 → 4月) never wins.
    """
    best = int(np.argmax(scores))
    if question.answer_type in STRICT_TYPES:
        pool = spans.typed.copy()
    elif question.answer_type == "entity":
        pool = spans.quoted & (spans.sentence <= 1)
    else:
        return best
    asked = question.text.lower()
    for index in np.flatnonzero(pool):
        pool[index] = fold(text_of(index)).lower() not in asked
    if question.unit:
        with_unit = pool.copy()
        for index in np.flatnonzero(pool):
            with_unit[index] = text_of(index).endswith(question.unit)
        pool = with_unit if with_unit.any() else pool
    if not pool.any():
        return best
    # Sentences are in rank order: the first with a span of the right shape holds the answer, unless
    # only a later one has such a span right in the question's gap (本报记者 何芳 for 记者是谁).
    in_gap = pool & (np.maximum(spans.features[:, _F["left_exact"]], spans.features[:, _F["right_exact"]]) >= IN_GAP)
    first = spans.sentence[pool].min()
    if in_gap.any() and not in_gap[spans.sentence == first].any():
        pool, first = in_gap, spans.sentence[in_gap].min()
    chosen = _best_in(spans, scores, pool & (spans.sentence == first))
    if question.perfective and spans.planned[chosen]:
        # What has happened, not a target: 已签约项目73个, not 力争签约引进项目300个.
        done = pool & ~spans.planned & (spans.sentence != first)
        if done.any():
            chosen = _best_in(spans, scores, done & (spans.sentence == spans.sentence[done].min()))
    return chosen


def _best_in(spans: Candidates, scores: np.ndarray, pool: np.ndarray) -> int:
    choices = np.flatnonzero(pool)
    return int(choices[np.argmax(alignment_fit(spans, scores, choices))])


def alignment_fit(spans: Candidates, scores: np.ndarray, choices: np.ndarray) -> np.ndarray:
    """How well each chosen span fills the question's gap: alignment first, the learned score
    only to break near-ties. With nothing after the question word, the words before it may also
    follow the answer (工作机制叫什么 ↔ “有求必应、无事不扰”服务企业工作机制)."""
    features = spans.features[choices]
    fit = features[:, _ALIGN] @ _ALIGN_WEIGHTS + 0.1 * np.tanh(scores[choices])
    no_right = features[:, _F["has_right_context"]] == 0
    return fit + np.where(no_right, _ALIGNMENT["right_fuzzy"] * spans.precedes[choices], 0.0)


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
        passages = same_place(question, passages, self.title)
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
        best = pick(question, scores, spans, lambda i: span_text(sentences, spans, i))
        sentence = sentences[spans.sentence[best]]
        features = self.confidence_features(question, scores, spans, best, sentence, terms)
        ruled_out = cannot_be_right(question, spans, best, features, span_text(sentences, spans, best))
        confidence = 0.0 if ruled_out else self.calibrator(features)
        return self.answer_at(
            question_text, question.answer_type, sentence.passage, (sentence.start, sentence.end),
            (sentence.start + int(spans.start[best]), sentence.start + int(spans.end[best])), confidence,
        )

    def answer_at(
        self, question_text: str, answer_type: str, passage: Passage, sentence: tuple[int, int],
        span: tuple[int, int], confidence: float,
    ) -> Answer:
        """The result for a span of a passage's chunk (positions in the chunk text), abstaining when
        the confidence is under the threshold."""
        chunk = passage.chunk
        (s_start, s_end), (start, end) = sentence, span
        if self.abstain_threshold > confidence:
            return Answer(question=question_text, answer="", sentence="", confidence=round(confidence, 4),
                          abstained=True, answer_type=answer_type)
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
            question=question_text,
            answer=chunk.text[start:end],
            sentence=chunk.text[s_start:s_end],
            answer_in_sentence=(start - s_start, end - s_start),
            source=source,
            confidence=round(confidence, 4),
            abstained=False,
            answer_type=answer_type,
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
        # The most specific label of the passage: its section heading, else the article title.
        context = f"{chunk.heading or self.title(chunk.article_id)} {chunk.text}".lower()
        whole = f"{self.title(chunk.article_id)} {chunk.heading} {chunk.text}".lower()
        in_passage = np.array([t in context for t in tokens], bool)
        in_sentence = np.array([t in sentence.folded for t in tokens], bool)
        total = weights.sum() or 1.0
        missing = weights[~in_passage]
        type_ok = bool(spans.typed[best])
        entities = [e.strip("“”《》「」\"") for e in subject_of(question.text)]
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
            "fit": float(np.tanh(alignment_fit(spans, scores, np.array([best]))[0])),
            "anchor_distance": float(min(spans.features[best, _F["left_distance"]], spans.features[best, _F["right_distance"]])),
            "entity_missing": float(any(e.lower() not in whole for e in entities)),
            "entity_conflict": float(about_another_place(question, chunk, self.title(chunk.article_id))),
            **{name: float(spans.features[best, _F[name]]) for name in _ANCHORS},
        }
        return np.array([values[name] for name in CONFIDENCE_FEATURES], np.float64)

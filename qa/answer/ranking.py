"""The span ranker: the answer among the reader's most probable spans, chosen by a learned ranking.

The reader's most probable span is often not the annotators' answer while one of its next
few is (on the dev splits, the gold answer is the reader's first span for 47% of news
questions and among its first ten for 76%): a neighbouring quantity of the same sentence,
a boundary one word off. ``candidates`` takes the reader's ``CANDIDATES`` most probable
distinct spans over the passages read; ``SpanRanker`` scores each from its named
features (qa.answer.span_features) with gradient-boosted trees (LightGBM, a LambdaRank
objective) trained on the train splits' questions as the engine reads them
(eval/train_reader.py), and the highest scored is the answer. A model file without a
ranker answers the reader's most probable span.
"""

from __future__ import annotations

import numpy as np

from qa.answer.decoding import PassageSpan, top_in_band
from qa.answer.encoding import EncodedPassage
from qa.answer.prefixes import trim
from qa.answer.runtime import one_thread_session
from qa.answer.span_features import (
    CATEGORICAL,
    SPAN_FEATURE_VERSION,
    SPAN_FEATURES,
    Candidate,
    question_word_positions,
    span_features,
)
from qa.types import Passage

CANDIDATES = 10  # chosen on dev: 3 and 5 candidates gained less (eval/ABLATIONS.md)
# LightGBM's parameters, fixed (no bagging, every feature in every tree) so that a fit is repeatable.
PARAMETERS = {
    "objective": "lambdarank", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 40,
    "feature_fraction": 1.0, "bagging_fraction": 1.0, "bagging_freq": 0, "label_gain": [0, 1],
    "num_threads": 1, "deterministic": True, "verbose": -1, "seed": 0,
}
ROUNDS = 200
INPUT = "features"  # the ranker graph's input: (candidates, features) float32
ONNX_OPSET = 15  # the highest onnxmltools converts LightGBM to


def candidates(band: tuple[np.ndarray, np.ndarray], encoded: list[EncodedPassage], passages: list[Passage],
               question: str, prefixes: tuple[str, ...], count: int = CANDIDATES) -> list[Candidate]:
    """The reader's count most probable spans with distinct texts, best first, each started after a
    left-out prefix (qa.answer.prefixes) as answers are; band: the passages' span scores and no-answer
    log-probabilities (qa.answer.decoding.span_scores)."""
    texts = [e.text for e in encoded]
    found: list[Candidate] = []
    seen: set[str] = set()
    question_chars = frozenset(question)
    question_words = [question_word_positions(e) for e in encoded]
    # Twice as many spans as wanted: a few have the same text as a better one once trimmed.
    for span in top_in_band(*band, texts, count * 2):
        start = trim(texts[span.passage], span.start, span.end, prefixes)
        text = texts[span.passage][start : span.end]
        if text in seen:
            continue
        seen.add(text)
        trimmed = PassageSpan(span.passage, start, span.end, span.log_probability, span.no_answer)
        found.append(Candidate(trimmed, text, passages[span.passage], encoded[span.passage], len(found),
                               question_chars=question_chars, question_word_at=question_words[span.passage]))
        if len(found) == count:
            break
    for candidate in found:
        candidate.best = found[0]
    return found


class SpanRanker:
    """Scores candidate spans; the answer is the highest scored. One instance serves many threads.

    The trees are trained with LightGBM and read as an ONNX graph by ONNX Runtime (as the reader
    is): serving needs neither LightGBM nor what it imports (scikit-learn and SciPy, about 1.7 s of
    every load measured by `qa bench` when LightGBM read the trees itself)."""

    def __init__(self, params: dict):
        if list(params["features"]) != list(SPAN_FEATURES) or params.get("version") != SPAN_FEATURE_VERSION:
            raise ValueError("the span ranker was trained for other span features; fit it again "
                             "(eval/train_reader.py --refit-heads)")
        self.candidates = int(params["candidates"])
        self.session = one_thread_session(bytes(params["graph"]))

    def scores(self, features: np.ndarray) -> np.ndarray:
        """The ranking scores of candidates' feature rows (qa.answer.span_features)."""
        return self.session.run(None, {INPUT: features.astype(np.float32)})[0].ravel()

    def choose(self, found: list[Candidate]) -> int:
        """The index of the best of the candidates (at least one)."""
        if len(found) == 1:
            return 0
        return int(np.argmax(self.scores(span_features(found))))

    @staticmethod
    def fit(features: list[np.ndarray], labels: list[np.ndarray]) -> dict:
        """Train on questions' candidates (one features matrix and one 0/1 label vector, right or not,
        per question) and return the ranker's parameters for the model file, its trees as an ONNX graph."""
        import lightgbm

        kept = [i for i, y in enumerate(labels) if len(y) > 1 and 0 < y.sum() < len(y)]  # questions that rank
        data = lightgbm.Dataset(
            np.vstack([features[i] for i in kept]), np.concatenate([labels[i] for i in kept]),
            group=[len(labels[i]) for i in kept],
            categorical_feature=[SPAN_FEATURES.index(name) for name in CATEGORICAL],
            feature_name=list(SPAN_FEATURES), free_raw_data=True,
        )
        booster = lightgbm.train(PARAMETERS, data, num_boost_round=ROUNDS)
        return {"features": list(SPAN_FEATURES), "version": SPAN_FEATURE_VERSION, "candidates": CANDIDATES,
                "graph": graph_of(booster), "questions": len(kept)}


def graph_of(booster) -> bytes:
    """A LightGBM booster's trees as ONNX bytes (onnxmltools)."""
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    graph = onnxmltools.convert_lightgbm(booster, initial_types=[(INPUT, FloatTensorType([None, len(SPAN_FEATURES)]))],
                                         target_opset=ONNX_OPSET)
    return graph.SerializeToString()

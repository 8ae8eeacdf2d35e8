"""Confidence: the probability that an answer is right, from what the selector saw.

A logistic model over a few signals: the ranker's softmax probability and margin
for the chosen span, how much of the question (IDF-weighted) the evidence sentence
and its passage contain, the largest IDF among question words the passage lacks,
whether the span has the asked-for shape, the passage's cosine similarity, how
closely the span sits to the question's words in its sentence, and whether a
place, organisation, person or quoted name of the question is missing from the
passage (a question about 株洲 answered from a paragraph about 徐州).

It is fitted by ``eval/train_answer_model.py`` on ``eval/calibration.jsonl``,
in-domain questions (answerable and not) over ``corpus/`` that are not the
evaluation set; "right" means F1 ≥ 0.5 against a gold answer. Answers the
selector rules out first (``qa.rules.cannot_be_right``: confidence 0) are left
out of the fit. The abstention threshold on it lives in the settings and is
chosen with ``eval/choose_threshold.py``.
"""

from __future__ import annotations

import numpy as np

CONFIDENCE_FEATURES = (
    "probability",
    "margin",
    "score",
    "sentence_cover",
    "passage_cover",
    "sentence_token_cover",
    "missing_idf",
    "type_ok",
    "dense",
    "left_near",
    "right_near",
    "left_distance",
    "right_distance",
    "repeats_question",
    "fit",
    "anchor_distance",
    "entity_missing",
    "entity_conflict",
)


class Calibrator:
    """Maps confidence features to a probability in [0, 1]."""

    def __init__(self, params: dict):
        if list(params["features"]) != list(CONFIDENCE_FEATURES):
            raise ValueError("the calibrator was fitted for other confidence features; retrain it")
        self.weights = np.asarray(params["weights"], np.float64)
        self.bias = float(params["bias"])

    def __call__(self, features: np.ndarray) -> float:
        """Calibrated probability that the answer is right."""
        z = float(np.dot(self.weights, features) + self.bias)
        return float(1.0 / (1.0 + np.exp(-z)))

    def to_params(self) -> dict:
        """The JSON-ready parameters."""
        return {"features": list(CONFIDENCE_FEATURES), "weights": self.weights.tolist(), "bias": self.bias}

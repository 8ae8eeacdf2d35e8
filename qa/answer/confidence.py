"""Confidence: the probability that the chosen span is right, from what the reader and retriever saw.

A logistic model over named signals: the span's log-probability, its passage's
no-answer log-probability and their difference, the smallest no-answer
log-probability over all passages read, the runner-up passage's span, the
passage's rank and retrieval scores, and the span's length. It is fitted on the
dev split (eval/train_reader.py): dev questions over their open corpus, and the
same questions with their gold article taken out of the corpus, whose answers are
all wrong (real negatives); "right" means F1 >= 0.5. The abstention threshold is
chosen on dev too and saved beside the weights.
"""

from __future__ import annotations

import math

import numpy as np

CONFIDENCE_FEATURES = (
    "span_log_probability",
    "no_answer_log_probability",
    "span_over_no_answer",
    "least_no_answer",
    "runner_up_gap",
    "passage_rank",
    "passage_score",
    "bm25",
    "dense",
    "answer_chars",
)


class Calibrator:
    """Maps the confidence features to a probability in [0, 1]."""

    def __init__(self, params: dict):
        if list(params["features"]) != list(CONFIDENCE_FEATURES):
            raise ValueError("the calibrator was fitted for other confidence features; retrain the reader")
        self.mean = np.asarray(params["mean"], np.float64)
        self.scale = np.asarray(params["scale"], np.float64)
        self.weights = np.asarray(params["weights"], np.float64)
        self.bias = float(params["bias"])
        self.threshold = float(params["threshold"])

    def __call__(self, features: np.ndarray) -> float:
        """Calibrated probability that the answer is right."""
        z = float(((features - self.mean) / self.scale) @ self.weights + self.bias)
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    @staticmethod
    def identity() -> dict:
        """Parameters before fitting: the span's own probability, no threshold."""
        weights = np.zeros(len(CONFIDENCE_FEATURES))
        weights[CONFIDENCE_FEATURES.index("span_over_no_answer")] = 1.0
        return {"features": list(CONFIDENCE_FEATURES), "mean": [0.0] * len(weights), "scale": [1.0] * len(weights),
                "weights": weights.tolist(), "bias": 0.0, "threshold": 0.0}


def confidence_features(spans: list, chosen: int, passages: list) -> np.ndarray:
    """The calibrator's inputs for the span chosen among the passages' best spans (qa.answer.decoding)."""
    best = spans[chosen]
    others = [s.log_probability for i, s in enumerate(spans) if i != chosen]
    passage = passages[best.passage]
    values = {
        "span_log_probability": best.log_probability,
        "no_answer_log_probability": best.no_answer,
        "span_over_no_answer": best.log_probability - best.no_answer,
        "least_no_answer": min(s.no_answer for s in spans),
        "runner_up_gap": best.log_probability - max(others) if others else 10.0,
        "passage_rank": float(passage.rank),
        "passage_score": float(passage.score),
        "bm25": float(passage.bm25),
        "dense": float(passage.dense),
        "answer_chars": float(best.end - best.start),
    }
    return np.array([values[name] for name in CONFIDENCE_FEATURES], np.float64)

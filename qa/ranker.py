"""The span ranker: a small two-layer network scoring candidate spans, run in numpy.

Its parameters are trained by ``eval/train_answer_model.py`` on the CMRC 2018 trial
set (listwise: a softmax over each question's candidates towards the spans with
the best F1) and shipped as ``qa/data/answer_model.json`` together with the
confidence calibrator. The feature names are stored with the weights, so a model
trained for other features is refused instead of silently misread.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from qa.spans import FEATURES

MODEL_FILE = Path(__file__).parent / "data" / "answer_model.json"


class SpanRanker:
    """Scores feature rows; higher means more likely the answer."""

    def __init__(self, params: dict):
        if list(params["features"]) != list(FEATURES):
            raise ValueError("the answer model was trained for other span features; retrain it")
        self.mean = np.asarray(params["mean"], np.float32)
        self.scale = np.asarray(params["scale"], np.float32)
        self.layers = [(np.asarray(w, np.float32), np.asarray(b, np.float32)) for w, b in params["layers"]]

    def score(self, features: np.ndarray) -> np.ndarray:
        """One score per row."""
        hidden = (features - self.mean) / self.scale
        for weights, bias in self.layers[:-1]:
            hidden = np.maximum(hidden @ weights + bias, 0.0)
        weights, bias = self.layers[-1]
        return (hidden @ weights + bias).reshape(-1)

    def to_params(self) -> dict:
        """The JSON-ready parameters."""
        return {
            "features": list(FEATURES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "layers": [(w.tolist(), b.tolist()) for w, b in self.layers],
        }


def load_model_file(path: str | Path = MODEL_FILE) -> dict:
    """The shipped answer model (ranker and calibrator parameters)."""
    return json.loads(Path(path).read_text("utf-8"))

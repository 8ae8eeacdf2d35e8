"""Aggregate metrics over predictions: overall, per kind, and the result object ``qa eval --json`` prints.

Answer and retrieval metrics are means over answerable questions (an abstention
scores 0). Abstention metrics are over abstentions (precision) and unanswerable
questions (recall); with a zero denominator they are 1.0, as there was nothing to
get wrong. An answer counts as *right* (for calibration) when its F1 is at least 0.5.
"""

from __future__ import annotations

import numpy as np

from qa.evaluation.metrics import reciprocal_rank
from qa.evaluation.runner import Prediction

QUALITY_METRICS = (
    "recall@1", "recall@5", "recall@10", "mrr", "em", "f1", "sentence_hit", "abstain_precision", "abstain_recall",
    "answerable_abstained",
)
SPEED_METRICS = ("latency_ms_p50", "latency_ms_p95", "index_build_seconds")
METRICS = QUALITY_METRICS + SPEED_METRICS
RIGHT_F1 = 0.5


def _mean(values) -> float:
    values = list(values)
    return float(np.mean(values)) if values else 0.0


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 1.0


def quality(predictions: list[Prediction]) -> dict[str, float]:
    """Retrieval, answer and abstention metrics of a group of predictions."""
    answerable = [p for p in predictions if p.gold]
    unanswerable = [p for p in predictions if not p.gold]
    abstained = [p for p in predictions if p.abstained]
    metrics = {
        f"recall@{k}": _mean(p.hit_rank is not None and p.hit_rank <= k for p in answerable) for k in (1, 5, 10)
    }
    metrics["mrr"] = _mean(
        reciprocal_rank([p.hit_rank == r for r in range(1, 11)]) if p.hit_rank else 0.0 for p in answerable
    )
    metrics["em"] = _mean(p.em for p in answerable)
    metrics["f1"] = _mean(p.f1 for p in answerable)
    metrics["sentence_hit"] = _mean(p.sentence_hit for p in answerable)
    metrics["abstain_precision"] = _ratio(sum(not p.gold for p in abstained), len(abstained))
    metrics["abstain_recall"] = _ratio(sum(p.abstained for p in unanswerable), len(unanswerable))
    metrics["answerable_abstained"] = _mean(p.abstained for p in answerable)
    return {name: round(value, 4) for name, value in metrics.items()}


def summarize(predictions: list[Prediction], build_seconds: float, settings: dict) -> dict:
    """The full result object: every metric, n, by_kind and the settings used."""
    latencies = [p.latency_ms for p in predictions] or [0.0]
    result: dict = quality(predictions)
    result["latency_ms_p50"] = round(float(np.percentile(latencies, 50)), 3)
    result["latency_ms_p95"] = round(float(np.percentile(latencies, 95)), 3)
    result["index_build_seconds"] = round(build_seconds, 3)
    result["n"] = len(predictions)
    kinds = sorted({p.kind for p in predictions})
    result["by_kind"] = {
        kind: {"n": len(group), **quality(group)}
        for kind in kinds
        if (group := [p for p in predictions if p.kind == kind])
    }
    dialogues = sorted({p.dialogue for p in predictions if p.dialogue})
    if dialogues:
        # A dialogue is right when every one of its turns is answered exactly.
        result["dialogues_right"] = round(_mean(
            all(p.em == 1.0 for p in predictions if p.dialogue == d) for d in dialogues
        ), 4)
        result["dialogues"] = len(dialogues)
    result["settings"] = settings
    return result


def is_right(prediction: Prediction) -> bool:
    """Whether an answer counts as right for calibration: F1 ≥ 0.5 against some gold answer."""
    return bool(prediction.gold) and not prediction.abstained and prediction.f1 >= RIGHT_F1

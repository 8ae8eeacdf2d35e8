"""Fusing the BM25 and dense rankings into one, by name.

Each run is a ranked list of (chunk id, score). ``rrf`` adds 1/(k + rank) per run
(weighted); ``weighted`` min-max normalises each run's scores and adds them with
weights; ``bm25`` and ``dense`` use one run alone (baselines for evaluation).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Run = Sequence[tuple[int, float]]


def reciprocal_rank(sparse: Run, dense: Run, dense_weight: float, k: int = 60) -> list[tuple[int, float]]:
    """Weighted reciprocal-rank fusion: score(d) = Σ w_run / (k + rank_run(d))."""
    fused: dict[int, float] = {}
    for run, weight in ((sparse, 1.0 - dense_weight), (dense, dense_weight)):
        for rank, (chunk_id, _) in enumerate(run, start=1):
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda item: -item[1])


def weighted_scores(sparse: Run, dense: Run, dense_weight: float, k: int = 60) -> list[tuple[int, float]]:
    """Min-max normalise each run to [0, 1] and add them with weights (absent counts as 0)."""
    fused: dict[int, float] = {}
    for run, weight in ((sparse, 1.0 - dense_weight), (dense, dense_weight)):
        if not run:
            continue
        high, low = run[0][1], min(score for _, score in run)
        span = (high - low) or 1.0
        for chunk_id, score in run:
            fused[chunk_id] = fused.get(chunk_id, 0.0) + weight * (score - low) / span
    return sorted(fused.items(), key=lambda item: -item[1])


def sparse_only(sparse: Run, dense: Run, dense_weight: float, k: int = 60) -> list[tuple[int, float]]:
    """BM25 ranking alone."""
    return list(sparse)


def dense_only(sparse: Run, dense: Run, dense_weight: float, k: int = 60) -> list[tuple[int, float]]:
    """Dense ranking alone."""
    return list(dense)


FUSIONS: dict[str, Callable[..., list[tuple[int, float]]]] = {
    "rrf": reciprocal_rank,
    "weighted": weighted_scores,
    "bm25": sparse_only,
    "dense": dense_only,
}

"""PNG plots for evaluation reports: quality by question kind, latency, and confidence reliability."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never open a window

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from qa.evaluation.runner import Prediction  # noqa: E402
from qa.evaluation.summary import is_right  # noqa: E402


def plot_by_kind(result: dict, path: Path) -> None:
    """Grouped bars of F1 and recall@1 per question kind."""
    kinds = list(result["by_kind"])
    f1 = [result["by_kind"][k]["f1"] for k in kinds]
    recall = [result["by_kind"][k]["recall@1"] for k in kinds]
    x = np.arange(len(kinds))
    fig, ax = plt.subplots(figsize=(max(6, len(kinds) * 0.9), 4))
    ax.bar(x - 0.2, f1, 0.4, label="F1")
    ax.bar(x + 0.2, recall, 0.4, label="recall@1")
    ax.set_xticks(x, [f"{k}\n(n={result['by_kind'][k]['n']})" for k in kinds], fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_title("Answer F1 and recall@1 by question kind")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(predictions: list[Prediction], path: Path) -> None:
    """Histogram of per-question latency with p50 and p95 marked."""
    latencies = np.array([p.latency_ms for p in predictions])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.hist(latencies, bins=40, color="#4a7ab5")
    for q, style in ((50, "--"), (95, ":")):
        value = np.percentile(latencies, q)
        ax.axvline(value, color="black", linestyle=style, label=f"p{q} = {value:.1f} ms")
    ax.set_xlabel("milliseconds per question (index loaded)")
    ax.set_ylabel("questions")
    ax.set_title("Latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def reliability_table(predictions: list[Prediction], bins: int = 10) -> list[tuple[float, float, int]]:
    """(mean confidence, share right, count) per confidence bin, over answered questions with gold answers."""
    rows = []
    scored = [p for p in predictions if p.gold]
    edges = np.linspace(0, 1, bins + 1)
    for lo, hi in zip(edges, edges[1:]):
        group = [p for p in scored if lo <= p.confidence < hi or (hi == 1 and p.confidence == 1)]
        if group:
            rows.append((float(np.mean([p.confidence for p in group])), float(np.mean([is_right(p) for p in group])), len(group)))
    return rows


def plot_reliability(predictions: list[Prediction], path: Path) -> None:
    """Reliability diagram: share of right answers against stated confidence."""
    rows = reliability_table(predictions)
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect calibration")
    if rows:
        conf, right, count = zip(*rows)
        ax.plot(conf, right, marker="o", label="this engine")
        for c, r, n in rows:
            ax.annotate(str(n), (c, r), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("share right (F1 ≥ 0.5)")
    ax.set_title("Confidence reliability")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

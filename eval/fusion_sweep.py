"""Compare fusion methods and weights on retrieval metrics, for the README and eval/RESULTS.md.

    python eval/fusion_sweep.py [eval/seeds.jsonl] [../shared/cmrc2018/cmrc2018_trial.json]

Each question set is indexed once (SQuAD sets into a temporary folder, JSONL sets
use index/); then every fusion setting ranks every question and the retrieval
metrics are printed as one Markdown table per set.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from qa.building import build_index
from qa.engine import Engine
from qa.evaluation.datasets import load_eval_set
from qa.evaluation.metrics import reciprocal_rank
from qa.evaluation.runner import is_hit
from qa.retriever import HybridRetriever
from qa.settings import get_settings

CONFIGS = [("bm25", 0.0), ("dense", 1.0)]
CONFIGS += [("rrf", w) for w in (0.2, 0.3, 0.4, 0.5, 0.6)]
CONFIGS += [("weighted", w) for w in (0.2, 0.3, 0.4, 0.5, 0.6)]


def sweep(engine: Engine, items) -> list[tuple[str, float, dict]]:
    """Retrieval metrics of every fusion setting over the answerable items."""
    rows = []
    items = [item for item in items if item.answerable]
    for fusion, weight in CONFIGS:
        settings = engine.settings.model_copy(update={"fusion": fusion, "dense_weight": weight})
        retriever = HybridRetriever(engine.index, settings)
        ranks = []
        for item in items:
            passages = retriever.retrieve(item.question, 10)
            ranks.append(next((p.rank for p in passages if is_hit(item, p)), None))
        metrics = {f"recall@{k}": sum(r is not None and r <= k for r in ranks) / len(ranks) for k in (1, 5, 10)}
        metrics["mrr"] = sum(reciprocal_rank([r == i for i in range(1, 11)]) for r in ranks if r) / len(ranks)
        rows.append((fusion, weight, metrics))
    return rows


def sweep_table(path: str) -> str:
    """The sweep over one question set as a Markdown table."""
    settings = get_settings()
    eval_set = load_eval_set(path)
    with tempfile.TemporaryDirectory() as folder:
        if eval_set.corpus is not None:
            build_index(eval_set.corpus, Path(folder) / "index", settings, progress=False)
            engine = Engine.load(Path(folder) / "index", settings)
        else:
            engine = Engine.load(settings.index_dir, settings, build_if_missing=True)
        rows = sweep(engine, eval_set.items)
    lines = ["| fusion | dense weight | recall@1 | recall@5 | recall@10 | mrr |", "|---|---:|---:|---:|---:|---:|"]
    for fusion, weight, m in rows:
        lines.append(f"| {fusion} | {weight:.1f} | {m['recall@1']:.4f} | {m['recall@5']:.4f} | {m['recall@10']:.4f} | {m['mrr']:.4f} |")
    return "\n".join(lines)


def main(paths: list[str]) -> None:
    for path in paths:
        print(f"\n### {Path(path).name}\n\n{sweep_table(path)}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["eval/seeds.jsonl", "../shared/cmrc2018/cmrc2018_trial.json"])

"""Choose the abstention threshold on the evaluation sets.

    python eval/choose_threshold.py [eval/seeds.jsonl] [../shared/cmrc2018/cmrc2018_trial.json]

Each set is answered once without abstaining; every threshold is then applied to the
recorded confidences. Printed per threshold: how many unanswerable questions abstain,
how many answerable ones wrongly abstain, and the EM and F1 that remain. The default
in qa/settings.py is the smallest threshold at which every unanswerable question of
eval/seeds.jsonl abstains, unless that costs more answerable questions than it saves.
"""

from __future__ import annotations

import sys

import numpy as np

from qa.evaluation.harness import evaluate
from qa.settings import get_settings

THRESHOLDS = [round(t, 2) for t in np.arange(0.0, 0.2, 0.01)] + [round(t, 2) for t in np.arange(0.2, 0.61, 0.05)]


def table(path: str) -> str:
    settings = get_settings().model_copy(update={"abstain_threshold": 0.0})
    _, predictions = evaluate(path, settings, settings.index_dir, progress=False)
    answerable = [p for p in predictions if p.gold]
    unanswerable = [p for p in predictions if not p.gold]
    lines = ["| threshold | unanswerable abstained | answerable abstained | em | f1 |", "|---:|---:|---:|---:|---:|"]
    for t in THRESHOLDS:
        kept = [p for p in answerable if p.confidence >= t]
        em = sum(p.em for p in kept) / max(len(answerable), 1)
        f1 = sum(p.f1 for p in kept) / max(len(answerable), 1)
        lines.append(
            f"| {t:.2f} | {sum(p.confidence < t for p in unanswerable)}/{len(unanswerable)} | "
            f"{len(answerable) - len(kept)}/{len(answerable)} | {em:.4f} | {f1:.4f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    for path in sys.argv[1:] or ["eval/seeds.jsonl"]:
        print(f"\n### {path}\n\n{table(path)}")

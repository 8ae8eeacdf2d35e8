"""Choose the abstention threshold on the evaluation sets.

    python eval/choose_threshold.py [eval/seeds.jsonl] [../shared/cmrc2018/cmrc2018_trial.json]

Each set is answered once without abstaining; every threshold is then applied to the
recorded confidences. Printed per threshold: how many unanswerable questions abstain,
how many answerable ones wrongly abstain, and the EM and F1 that remain; then, when
some threshold abstains on every unanswerable question and on no answerable one, the
one halfway between the two groups (the widest margin) and how wide that margin is.
The default in qa/settings.py is that halfway threshold on eval/seeds.jsonl when it
exists, else the smallest at which every unanswerable question abstains.
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
    highest_unanswerable = max((p.confidence for p in unanswerable), default=0.0)
    lowest_answerable = min((p.confidence for p in answerable), default=1.0)
    if highest_unanswerable < lowest_answerable:
        lines += ["", f"Separating threshold: {(highest_unanswerable + lowest_answerable) / 2:.4f}, halfway between "
                      f"the most confident unanswerable question ({highest_unanswerable:.4f}) and the least "
                      f"confident answerable one ({lowest_answerable:.4f})."]
    else:
        lines += ["", f"No threshold separates them: an answerable question is rated {lowest_answerable:.4f}, "
                      f"an unanswerable one {highest_unanswerable:.4f}."]
    return "\n".join(lines)


if __name__ == "__main__":
    for path in sys.argv[1:] or ["eval/seeds.jsonl"]:
        print(f"\n### {path}\n\n{table(path)}")

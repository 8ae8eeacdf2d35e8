"""Are near-miss unanswerable questions withheld? The near-miss study of eval/ABLATIONS.md.

    .venv/bin/python eval/near_miss_study.py [--shared ../shared] [--model qa/data/reader.pt]

A near-miss question is a dev question with one person, place or organisation name that its gold
article holds (jieba's nr, ns and nt tags, two characters or more, not part of an answer) swapped
for a name of the same kind from the train split's questions that no dev article holds: it sounds
right for the article, and no article of the corpus answers it. Every dev question of the training
sets is read over its split's open corpus as it is (answerable), with its gold article taken out,
and, where it has such a name, as its near-miss twin. With the model's own calibrator and threshold,
the table gives the share withheld of each kind and the share of answerable questions answered
right (F1 >= 0.5).

The tags differ from the training twins' (eval/unanswerable_questions.py: persons and places only),
and the replacements come from the other split's questions, so the study is not the training
recipe read back.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from train_reader import RIGHT_F1, TRAINING_SETS, split_engines, without_gold_article

from qa.answer import model_file
from qa.evaluation.datasets import load_eval_set
from qa.evaluation.metrics import f1_score
from qa.settings import Settings

from unanswerable_questions import name_pool, swapped_question

# Organisations too, unlike the training twins' persons and places.
NAME_KINDS = {"nr": "person", "nrfg": "person", "nrt": "person", "ns": "place", "nt": "organisation"}
KINDS = ("answerable", "no_gold_article", "near_miss")


def near_miss_questions(shared: Path, relative: str, rng: random.Random) -> dict[str, str]:
    """Dev question → its near-miss twin, for the dev questions that have one."""
    train, dev = load_eval_set(shared / relative, "train"), load_eval_set(shared / relative, "dev")
    dev_text = "\n".join(article.text for article in dev.corpus.articles)
    pool = {kind: [name for name in found if name not in dev_text]
            for kind, found in name_pool([item.question for item in train.items], NAME_KINDS).items()}
    gold = {article.id: article.text for article in dev.corpus.articles}
    twins = {}
    for item in dev.items:
        twin = swapped_question(item.question, gold.get(item.gold_article, ""), item.answers, pool, rng,
                                kinds=NAME_KINDS)
        if twin:
            twins[item.question] = twin
    return twins


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--model", type=Path, default=model_file.MODEL_FILE)
    args = parser.parse_args()
    settings = Settings(_env_file=None)
    data = model_file.load(args.model)
    print("| set | answerable withheld | answerable answered right | gold article out, withheld | "
          "near-miss, withheld (questions) |\n|---|---:|---:|---:|---:|")
    for dataset, eval_set, engine in split_engines(args.shared, data, settings, with_pd_dev=False):
        twins = near_miss_questions(args.shared, TRAINING_SETS[dataset], random.Random(7))
        withheld = {kind: [] for kind in KINDS}
        right = []
        predictor = engine.predictor
        for item in eval_set.items:
            retrieved = engine.retrieve(item.question, settings.top_k + 10)
            readings = [("answerable", item.question, retrieved[: settings.top_k]),
                        ("no_gold_article", item.question,
                         without_gold_article(retrieved, item.gold_article, settings.top_k))]
            if item.question in twins:
                twin = twins[item.question]
                readings.append(("near_miss", twin, engine.retrieve(twin, settings.top_k)))
            for kind, question, passages in readings:
                reading = predictor.read(question, passages)
                if reading.chosen is None:
                    withheld[kind].append(True)
                    continue
                confidence = predictor.confidence(reading)
                withheld[kind].append(confidence < predictor.threshold)
                if kind == "answerable":
                    right.append(confidence >= predictor.threshold
                                 and f1_score(reading.answer(), item.answers) >= RIGHT_F1)
        share = {kind: sum(values) / max(len(values), 1) for kind, values in withheld.items()}
        print(f"| {dataset} dev | {share['answerable']:.3f} | {sum(right) / len(right):.3f} | "
              f"{share['no_gold_article']:.3f} | {share['near_miss']:.3f} ({len(withheld['near_miss'])}) |")


if __name__ == "__main__":
    main()

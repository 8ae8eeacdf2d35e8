"""Can more signals tell answerable questions from unanswerable ones? The abstention study of eval/ABLATIONS.md.

    .venv/bin/python eval/abstention_study.py [--shared ../shared] [--model qa/data/reader.pt]

Every dev question of the training sets is read three ways over its split's open corpus: with
the passages retrieval brings (answerable), with its gold article taken out, and with every
passage holding a gold answer taken out (both unanswerable: real negatives). Per reading it
keeps the calibrator's features (qa.answer.confidence) and candidate ones: the share of the
question's words and characters found in the chosen passage, and in the answer's sentence; and
the span ranker's signals (qa.answer.ranking): its score of the answer, the margin to its second
choice, the softmax share of its choice among the candidates, and whether it kept the reader's
first span; and the shares of the question's subject parts (names, places, organisations, dates)
the chosen passage and the answer's sentence do not hold. The People's Daily dev set's unanswerable questions are read over its open corpus as
a third kind of negative. Calibrators (logistic, as shipped, and LightGBM) are fitted in 5 folds grouped by article and
scored out of fold: ROC AUC and best balanced accuracy of answerable against each kind of
negative, and exact match left after abstaining at the best balanced threshold.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from train_reader import RIGHT_F1, best_balanced_threshold, split_engines, without_gold_article

from qa.answer import model_file
from qa.answer.encoding import encode_question, words_of
from qa.answer.question import subject_of
from qa.answer.span_features import span_features
from qa.evaluation.metrics import exact_match, f1_score
from qa.settings import Settings
from qa.text import code_points, fold, sentence_around

CASES = ("answerable", "no_gold_article", "no_answer_passage", "unanswerable")
COVERAGE = ("passage_words", "passage_chars", "sentence_words", "sentence_chars")


def coverage(question, text: str, tags, low: int, high: int) -> tuple[float, float]:
    """Shares of the question's words and characters found in text[low:high]."""
    words = {word for start, end, word in words_of(text, tags) if start < high and end > low}
    chars = set(code_points(fold(text[low:high]).lower()).tolist())
    asked = question.code_points.tolist()
    return (len(question.words & words) / max(len(question.words), 1),
            sum(c in chars for c in asked) / max(len(asked), 1))


def subject_missing(question: str, passage: str, sentence: str) -> list[float]:
    """Shares of the question's subject parts (names, places, organisations, dates, quoted names;
    qa.answer.question.subject_of) that the chosen passage, and the answer's sentence, do not hold;
    and whether the passage misses any (0, 0, 0 for a question without one)."""
    parts = [fold(part) for part in subject_of(question)]
    if not parts:
        return [0.0, 0.0, 0.0]
    passage, sentence = fold(passage), fold(sentence)
    missing = sum(part not in passage for part in parts)
    return [missing / len(parts), sum(part not in sentence for part in parts) / len(parts), float(missing > 0)]


def ranker_signals(predictor, question: str, passages: list) -> list[float]:
    """The span ranker's score of its choice, the margin to its second, the softmax share of its choice
    and whether it is the reader's first span (a single candidate: 0, 10, 1, 1)."""
    found = predictor.candidates(question, passages)
    if len(found) < 2:
        return [0.0, 10.0, 1.0, 1.0]
    ranked = predictor.ranker.scores(span_features(found)).astype(np.float64)
    order = np.argsort(-ranked, kind="stable")
    share = np.exp(ranked - ranked.max())
    return [ranked[order[0]], ranked[order[0]] - ranked[order[1]], share[order[0]] / share.sum(), float(order[0] == 0)]


def readings(shared: Path, model: dict, settings: Settings) -> list[dict]:
    rows = []
    for dataset, eval_set, engine in split_engines(shared, model, settings):
        predictor = engine.predictor
        for item in eval_set.items:
            if not item.question.strip() or len(item.question) > settings.max_question_chars:
                continue
            retrieved = engine.retrieve(item.question, settings.top_k + 10)
            ways = {
                "answerable": retrieved[: settings.top_k],
                "no_gold_article": without_gold_article(retrieved, item.gold_article, settings.top_k),
                "no_answer_passage": [p.model_copy() for p in retrieved
                                      if not any(a and a in p.chunk.text for a in item.answers)],
            } if item.answerable else {"unanswerable": retrieved[: settings.top_k]}
            asked = encode_question(item.question, predictor.vocabulary)
            for case, passages in ways.items():
                passages = passages[: settings.top_k]
                for rank, passage in enumerate(passages, start=1):
                    passage.rank = rank  # as if the removed passages had never been indexed
                reading = predictor.read(item.question, passages)
                if reading.chosen is None:
                    continue
                best = reading.spans[reading.chosen]
                chunk = reading.passages[best.passage].chunk
                sentence = sentence_around(chunk.text, best.start, best.end)
                answer = reading.answer()
                rows.append({
                    "dataset": dataset, "group": f"{dataset}/{item.gold_article}", "case": case,
                    "features": reading.confidence_features(),
                    "coverage": [*coverage(asked, chunk.text, chunk.tags, 0, len(chunk.text)),
                                 *coverage(asked, chunk.text, chunk.tags, *sentence)],
                    "ranker": ranker_signals(predictor, item.question, passages),
                    "subject": subject_missing(item.question, chunk.text, chunk.text[sentence[0]:sentence[1]]),
                    "right": bool(item.answers) and f1_score(answer, item.answers) >= RIGHT_F1,
                    "em": bool(item.answers) and exact_match(answer, item.answers),
                })
    return rows


def out_of_fold(features: np.ndarray, right: np.ndarray, groups: np.ndarray, kind: str) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold

    confidence = np.zeros(len(right))
    for train, test in GroupKFold(5).split(features, groups=groups):
        if kind == "logistic":
            mean, scale = features[train].mean(0), features[train].std(0) + 1e-6
            model = LogisticRegression(max_iter=3000).fit((features[train] - mean) / scale, right[train])
            confidence[test] = model.predict_proba((features[test] - mean) / scale)[:, 1]
        else:
            import lightgbm

            model = lightgbm.LGBMClassifier(n_estimators=200, learning_rate=0.03, num_leaves=8, min_child_samples=30,
                                            verbose=-1).fit(features[train], right[train])
            confidence[test] = model.predict_proba(features[test])[:, 1]
    return confidence


def scores(confidence: np.ndarray, case: np.ndarray, em: np.ndarray) -> str:
    from sklearn.metrics import roc_auc_score

    cells = []
    answerable = case == "answerable"
    for negative in CASES[1:]:
        chosen = answerable | (case == negative)
        labels, values = answerable[chosen], confidence[chosen]
        cells.append(f"{roc_auc_score(labels, values):.3f} / {best_balanced_threshold(values, labels)[1]:.3f}")
    threshold = best_balanced_threshold(confidence, answerable)[0]
    cells.append(f"{np.mean(em[answerable] * (confidence[answerable] >= threshold)):.3f}")
    cells.append(f"{np.mean(confidence[answerable] < threshold):.3f} / {np.mean(confidence[case == CASES[3]] < threshold):.3f}")
    return " | ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--model", type=Path, default=model_file.MODEL_FILE)
    args = parser.parse_args()
    rows = readings(args.shared, model_file.load(args.model), Settings(_env_file=None))
    case = np.array([r["case"] for r in rows])
    em = np.array([r["em"] for r in rows])
    right = np.array([r["right"] for r in rows])
    groups = np.array([r["group"] for r in rows])
    base = np.array([r["features"] for r in rows])
    extra = np.array([r["coverage"] for r in rows])
    ranker = np.array([r["ranker"] for r in rows])
    subject = np.array([r["subject"] for r in rows])
    print(f"{len(rows)} readings; EM of the answerable ones without abstaining "
          f"{em[case == 'answerable'].mean():.3f}")
    print("| calibrator | features | AUC / balanced accuracy, gold article out | same, answer passages out"
          " | same, unanswerable questions | dev EM after abstaining | withheld: answerable / unanswerable |")
    print("|---|---|---|---|---|---:|---|")
    sets = {"shipped": base, "+ passage coverage": np.column_stack([base, extra[:, :2]]),
            "+ sentence coverage": np.column_stack([base, extra[:, 2:]]), "+ both": np.column_stack([base, extra]),
            "+ ranker": np.column_stack([base, ranker]), "+ ranker margin and share": np.column_stack([base, ranker[:, 1:3]]),
            "+ ranker kept the reader's first": np.column_stack([base, ranker[:, 3]]),
            "+ subject parts missing": np.column_stack([base, subject]),
            "+ subject parts missing from the passage": np.column_stack([base, subject[:, [0, 2]]])}
    for kind in ("logistic", "lightgbm"):
        for name, features in sets.items():
            print(f"| {kind} | {name} | {scores(out_of_fold(features, right, groups, kind), case, em)} |", flush=True)


if __name__ == "__main__":
    main()

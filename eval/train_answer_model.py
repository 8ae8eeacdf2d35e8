"""Train the answer model (sentence scorer, span ranker, confidence calibrator) on CMRC 2018 trial.

    python eval/train_answer_model.py [../shared/cmrc2018/cmrc2018_trial.json] [--folds 5] [--out qa/data/answer_model.json]

1. Index all CMRC paragraphs together (open corpus) with the current settings and
   retrieve passages for every question exactly as the engine does. A second copy
   of each question is retrieved with its gold paragraph removed: those teach the
   calibrator what an answer without support in the corpus looks like.
2. Cross-validate by article (GroupKFold on the document title). In each fold:
   a logistic sentence scorer is fitted on the training questions' sentences
   (label: the sentence overlaps a gold span); the best sentences of every
   question are cut into candidate spans with the engine's own code, each
   labelled with its F1 against the gold spans (characters, punctuation ignored);
   a small network is trained listwise (softmax over a question's candidates,
   towards the best ones) and picks the answers of the held-out questions.
   The out-of-fold EM/F1 are the reported figures.
3. The logistic calibrator (right = F1 ≥ 0.5) is fitted on eval/calibration.jsonl, in-domain
   questions over corpus/ that are not the evaluation set, on the answers the selector's rules
   leave (qa.rules.cannot_be_right sets the others to 0); CMRC serves as its out-of-domain check.
4. Fit everything once more on all questions and save it with the figures.

Needs the training extras: ``pip install -e .[train]`` (scikit-learn; torch comes
with sentence-transformers).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, StratifiedKFold
from tqdm import tqdm

from qa.calibration import CONFIDENCE_FEATURES
from qa.engine import Engine
from qa.evaluation.datasets import EvalItem, load_squad
from qa.evaluation.metrics import exact_match, f1_score
from qa.evidence import SENTENCE_FEATURES, QuestionTerms, Sentence, rank_sentences, sentence_features, split_passages
from qa.index import build_index
from qa.question import Question, analyze
from qa.ranker import MODEL_FILE, SpanRanker
from qa.rules import cannot_be_right
from qa.selector import SENTENCES_KEPT, AnswerSelector, pick
from qa.spans import FEATURES, Candidates, candidates, span_texts
from qa.text import is_punct

RIGHT_F1 = 0.5
HIDDEN = 32
EPOCHS = 300
WEIGHT_DECAY = 1e-2
NEGATIVES_PER_QUESTION = 300
REMOVED_GOLD_DEPTH = 20
CALIBRATOR_C = 10.0


@dataclass
class Retrieved:
    """A question's retrieval outcome: everything later stages need, computed once."""

    item: EvalItem
    group: str
    question: Question
    terms: QuestionTerms
    sentences: list[Sentence]
    sentence_labels: np.ndarray
    gold_removed: bool


@dataclass
class Ranked:
    """A question's candidates under one sentence scorer."""

    source: Retrieved
    sentences: list[Sentence]
    spans: Candidates
    labels: np.ndarray
    texts: list[str]


class Gold:
    """Gold answer spans by paragraph, and a punctuation-free character count for F1 labels."""

    def __init__(self, data: dict):
        self.spans: dict[str, list[tuple[int, int]]] = {}
        self.content: dict[str, np.ndarray] = {}
        for document in data["data"]:
            for paragraph in document["paragraphs"]:
                context = paragraph["context"]
                self.content[paragraph["id"]] = np.concatenate([[0], np.cumsum([not is_punct(c) for c in context])])
                for qa in paragraph["qas"]:
                    self.spans[str(qa["id"])] = self._locate(context, qa["answers"])

    @staticmethod
    def _locate(context: str, answers: list[dict]) -> list[tuple[int, int]]:
        spans = []
        for answer in answers:
            text, start = answer["text"], answer.get("answer_start", -1)
            if context[start : start + len(text)] != text:
                found = [i for i in range(len(context)) if context.startswith(text, i)]
                if not found:
                    continue
                start = min(found, key=lambda i: abs(i - start))
            spans.append((start, start + len(text)))
        return spans

    def f1(self, item: EvalItem, article_id: str, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """F1 of article spans against the item's gold spans, counting non-punctuation characters."""
        best = np.zeros(len(starts), np.float32)
        if article_id != item.gold_article:
            return best
        content = self.content[article_id]
        size = content[ends] - content[starts]
        for g_start, g_end in self.spans[item.id]:
            overlap = np.clip(content[np.minimum(ends, g_end)] - content[np.maximum(starts, g_start)], 0, None)
            overlap = np.where(np.minimum(ends, g_end) > np.maximum(starts, g_start), overlap, 0)
            precision = overlap / np.maximum(size, 1)
            recall = overlap / max(content[g_end] - content[g_start], 1)
            best = np.maximum(best, np.where(overlap > 0, 2 * precision * recall / np.maximum(precision + recall, 1e-9), 0))
        return best


def sentence_spans_in_article(sentence: Sentence) -> tuple[int, int]:
    chunk = sentence.passage.chunk
    return chunk.article_offset(sentence.start), chunk.article_offset(sentence.end - 1) + 1


def neutral_model() -> dict:
    """A stand-in answer model for the engine that retrieves training data (its ranker is not used)."""
    sentence_weights = {"char_cover": 0.45, "pair_cover": 0.35, "left_anchor": 0.05, "right_anchor": 0.05,
                        "passage_score": 0.1, "is_question": -0.5, "subject_cover": 0.2}
    return {
        "sentences": {"features": list(SENTENCE_FEATURES),
                      "weights": [sentence_weights.get(name, 0.0) for name in SENTENCE_FEATURES]},
        "ranker": {"features": list(FEATURES), "mean": [0.0] * len(FEATURES), "scale": [1.0] * len(FEATURES),
                   "layers": [([[0.0]] * len(FEATURES), [0.0])]},
        "calibrator": {"features": list(CONFIDENCE_FEATURES), "weights": [0.0] * len(CONFIDENCE_FEATURES), "bias": 0.0},
    }


def collect(engine: Engine, gold: Gold, items: list[EvalItem], groups: dict, remove_gold: bool) -> list[Retrieved]:
    """Retrieve every question once and split its passages into scored-later sentences."""
    questions = []
    top_k = engine.settings.top_k
    for item in tqdm(items, desc="retrieving" + (" (gold removed)" if remove_gold else ""), unit="q"):
        if not item.question.strip():
            continue  # CMRC's trial set has one empty question
        passages = engine.retrieve(item.question, REMOVED_GOLD_DEPTH if remove_gold else top_k)
        if remove_gold:
            passages = [p for p in passages if p.chunk.article_id != item.gold_article][:top_k]
        question = analyze(item.question)
        terms = QuestionTerms(question, engine.selector.idf)
        sentences = split_passages(passages, terms)
        if not sentences:
            continue
        features = sentence_features(sentences, terms)
        labels = []
        for sentence, row in zip(sentences, features):
            sentence.features = row
            start, end = sentence_spans_in_article(sentence)
            labels.append(gold.f1(item, sentence.passage.chunk.article_id, np.array([start]), np.array([end]))[0] > 0)
        questions.append(Retrieved(item, groups[item.id], question, terms, sentences, np.array(labels), remove_gold))
    return questions


def fit_sentence_scorer(questions: list[Retrieved]) -> np.ndarray:
    """Logistic weights over SENTENCE_FEATURES (the last feature is the bias)."""
    x = np.concatenate([np.stack([s.features for s in q.sentences]) for q in questions])
    y = np.concatenate([q.sentence_labels for q in questions])
    model = LogisticRegression(C=1.0, max_iter=2000, fit_intercept=False).fit(x, y)
    return model.coef_[0].astype(np.float32)


def rank(questions: list[Retrieved], weights: np.ndarray, gold: Gold) -> list[Ranked]:
    """Keep each question's best sentences under weights and label their candidate spans."""
    ranked = []
    for q in questions:
        sentences = rank_sentences(list(q.sentences), q.terms, SENTENCES_KEPT, weights)
        spans = candidates(q.question, q.terms, sentences)
        labels = np.zeros(len(spans), np.float32)
        for index, sentence in enumerate(sentences):
            mask = spans.sentence == index
            if mask.any():
                chunk = sentence.passage.chunk
                starts = np.array([chunk.article_offset(sentence.start + int(a)) for a in spans.start[mask]])
                ends = np.array([chunk.article_offset(sentence.start + int(b) - 1) + 1 for b in spans.end[mask]])
                labels[mask] = gold.f1(q.item, chunk.article_id, starts, ends)
        texts = span_texts(sentences, spans)
        ranked.append(Ranked(q, sentences, spans, labels, texts))
    return ranked


def train_ranker(examples: list[Ranked], seed: int = 0) -> SpanRanker:
    """Fit the two-layer span ranker listwise on questions that have a positive candidate."""
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    rows, groups, targets = [], [], []
    for number, e in enumerate(x for x in examples if x.labels.max() > 0):
        positive, negative = np.flatnonzero(e.labels > 0), np.flatnonzero(e.labels == 0)
        negative = rng.choice(negative, min(len(negative), NEGATIVES_PER_QUESTION), replace=False)
        keep = np.concatenate([positive, negative])
        target = (e.labels[keep] / e.labels.max()) ** 8  # sharpened towards the best spans
        rows.append(e.spans.features[keep])
        groups.append(np.full(len(keep), number))
        targets.append(target / target.sum())
    x, group, target = np.concatenate(rows), np.concatenate(groups), np.concatenate(targets)
    mean, scale = x.mean(0), x.std(0)
    scale[scale < 1e-5] = 1.0
    xt = torch.tensor((x - mean) / scale, dtype=torch.float32)
    gt, tt = torch.tensor(group), torch.tensor(target, dtype=torch.float32)
    count = int(group.max()) + 1
    model = torch.nn.Sequential(torch.nn.Linear(x.shape[1], HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=WEIGHT_DECAY)
    for _ in range(EPOCHS):
        optimizer.zero_grad()
        scores = model(xt).squeeze(1)
        top = torch.zeros(count).scatter_reduce(0, gt, scores, reduce="amax", include_self=False)
        shifted = scores - top[gt].detach()
        log_norm = torch.log(torch.zeros(count).index_add(0, gt, torch.exp(shifted)))
        loss = -(tt * (shifted - log_norm[gt])).sum() / count
        loss.backward()
        optimizer.step()
    layers = [(layer.weight.detach().numpy().T, layer.bias.detach().numpy())
              for layer in model if isinstance(layer, torch.nn.Linear)]
    return SpanRanker({"features": list(FEATURES), "mean": mean.tolist(), "scale": scale.tolist(),
                       "layers": [(w.tolist(), b.tolist()) for w, b in layers]})


def choose(ranker: SpanRanker, selector: AnswerSelector, e: Ranked) -> tuple[str, np.ndarray, bool]:
    """The ranker's answer for a question, the calibrator's inputs for it, and whether the
    selector rules it out before calibration (qa.rules.cannot_be_right)."""
    scores = ranker.score(e.spans.features)
    best = pick(e.source.question, scores, e.spans, e.texts.__getitem__)
    sentence = e.sentences[e.spans.sentence[best]]
    features = selector.confidence_features(e.source.question, scores, e.spans, best, sentence, e.source.terms)
    return e.texts[best], features, cannot_be_right(e.source.question, e.spans, best, features, e.texts[best])


def expected_calibration_error(confidence: np.ndarray, right: np.ndarray, bins: int = 10) -> float:
    """Mean |confidence − share right| over equal-width bins, weighted by bin size."""
    edges = np.linspace(0, 1, bins + 1)
    total = 0.0
    for lo, hi in zip(edges, edges[1:]):
        mask = (confidence >= lo) & ((confidence < hi) | (hi == 1))
        if mask.any():
            total += mask.mean() * abs(confidence[mask].mean() - right[mask].mean())
    return float(total)


def swap_entities(items: list[EvalItem], groups: dict[str, str], seed: int = 0) -> list[EvalItem]:
    """CMRC questions about one article's subject asked about another article's subject instead
    (张三的身高是多少 → 李四的身高是多少): realistic questions the corpus does not answer."""
    rng = np.random.default_rng(seed)
    titles = sorted(set(groups.values()))
    swapped = []
    for item in items:
        title = groups.get(item.id, "")
        if len(title) >= 2 and title in item.question:
            other = titles[rng.integers(len(titles))]
            if other != title:
                swapped.append(item.model_copy(update={"question": item.question.replace(title, other)}))
    return swapped


def in_domain_calibration(path: Path, model: dict, settings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Confidence inputs, right/wrong labels and ruled-out flags for a JSONL question set over the
    seed corpus (eval/calibration.jsonl: not the evaluation set), answered with the final ranker."""
    from qa.evaluation.datasets import load_jsonl

    items = [item for item in load_jsonl(path).items if item.question.strip()]
    with tempfile.TemporaryDirectory() as folder:
        build_index(settings.corpus_dir, Path(folder) / "index", settings, progress=False)
        engine = Engine.load(Path(folder) / "index", settings, model=model)
        ranker, selector = engine.selector.ranker, engine.selector
        x, y, ruled_out = [], [], []
        for item in items:
            question = analyze(item.question)
            terms, sentences, spans = selector.candidates(question, engine.retrieve(item.question))
            if not len(spans):
                continue
            texts = span_texts(sentences, spans)
            scores = ranker.score(spans.features)
            best = pick(question, scores, spans, texts.__getitem__)
            x.append(selector.confidence_features(question, scores, spans, best, sentences[spans.sentence[best]], terms))
            y.append(bool(item.answers) and f1_score(texts[best], item.answers) >= RIGHT_F1)
            ruled_out.append(cannot_be_right(question, spans, best, x[-1], texts[best]))
    return np.array(x), np.array(y, int), np.array(ruled_out, bool)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", default="../shared/cmrc2018/cmrc2018_trial.json")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--calibration", default=str(Path(__file__).parent / "calibration.jsonl"),
                        help="in-domain questions over corpus/ for the calibrator (not the evaluation set)")
    parser.add_argument("--out", default=str(MODEL_FILE))
    args = parser.parse_args()
    started = time.time()
    path = Path(args.path)
    data = json.loads(path.read_text("utf-8"))
    eval_set = load_squad(path)
    gold = Gold(data)
    groups = {str(qa["id"]): d.get("title", p["id"]) for d in data["data"] for p in d["paragraphs"] for qa in p["qas"]}

    from qa.settings import get_settings

    settings = get_settings()
    with tempfile.TemporaryDirectory() as folder:
        build_index(eval_set.corpus, Path(folder) / "index", settings)
        engine = Engine.load(Path(folder) / "index", settings, model=neutral_model())
        questions = collect(engine, gold, eval_set.items, groups, remove_gold=False)
        # Negatives for the calibrator: gold paragraph removed, or the subject swapped for another.
        negatives = collect(engine, gold, eval_set.items, groups, remove_gold=True)
        negatives += collect(engine, gold, swap_entities(eval_set.items, groups), groups, remove_gold=False)
    selector = engine.selector

    answers: dict[int, tuple] = {}
    negative_answers: dict[int, tuple] = {}
    question_groups = np.array([q.group for q in questions])
    negative_groups = np.array([q.group for q in negatives])
    folds = GroupKFold(n_splits=args.folds).split(np.zeros(len(questions)), groups=question_groups)
    sentence_recall, oracle = [], []
    for fold, (train, test) in enumerate(folds):
        weights = fit_sentence_scorer([questions[i] for i in train])
        held_out = np.flatnonzero(np.isin(negative_groups, question_groups[test]))
        ranked_train = rank([questions[i] for i in train], weights, gold)
        ranked_test = rank([questions[i] for i in test], weights, gold)
        ranked_negatives = rank([negatives[i] for i in held_out], weights, gold)
        ranker = train_ranker(ranked_train, seed=fold)
        for i, e in zip(test, ranked_test):
            answers[i] = choose(ranker, selector, e)
            sentence_recall.append(e.labels.max() > 0)
            oracle.append(e.labels.max() >= 0.999)
        for i, e in zip(held_out, ranked_negatives):
            negative_answers[i] = choose(ranker, selector, e)
        print(f"fold {fold + 1}/{args.folds}: {len(train)} training questions, {len(test)} held out")

    em = np.array([exact_match(answers[i][0], q.item.answers) for i, q in enumerate(questions)])
    f1 = np.array([f1_score(answers[i][0], q.item.answers) for i, q in enumerate(questions)])
    print(f"kept sentences hold the answer for {np.mean(sentence_recall):.3f}; an exact candidate exists for {np.mean(oracle):.3f}")
    print(f"cross-validated ({args.folds}-fold by article): EM {em.mean():.4f}  F1 {f1.mean():.4f}")

    weights = fit_sentence_scorer(questions)
    final = train_ranker(rank(questions, weights, gold), seed=args.folds)
    model = neutral_model() | {"sentences": {"features": list(SENTENCE_FEATURES), "weights": weights.tolist()},
                               "ranker": final.to_params()}

    # Calibrator: right = F1 >= RIGHT_F1. It is fitted on the in-domain questions (eval/calibration.jsonl,
    # over corpus/, disjoint from the evaluation set): measured on eval/seeds.jsonl, calibrators fitted on
    # CMRC, or on CMRC plus these, separated the product's unanswerable questions far worse (CMRC golds
    # are long phrases, our answers short typed spans). The CMRC answers, with gold-removed and
    # subject-swapped negatives, are kept as an out-of-domain check of the calibration.
    negative_right = [q.gold_removed and f1_score(negative_answers[k][0], q.item.answers) >= RIGHT_F1
                      for k, q in enumerate(negatives)]
    x_cmrc = np.array([answers[i][1] for i in range(len(questions))] + [negative_answers[i][1] for i in range(len(negatives))])
    y_cmrc = np.concatenate([f1 >= RIGHT_F1, negative_right]).astype(int)
    out_cmrc = np.array([answers[i][2] for i in range(len(questions))] + [negative_answers[i][2] for i in range(len(negatives))])
    if Path(args.calibration).is_file():
        x, y, ruled_out = in_domain_calibration(Path(args.calibration), model, settings)
        print(f"in-domain calibration questions: {len(y)}, {y.mean():.3f} of them right, {ruled_out.sum()} ruled out")
    else:
        x, y, ruled_out = x_cmrc, y_cmrc, out_cmrc
    # The calibrator rates what the selector's rules leave (they set confidence 0 themselves); the
    # errors are measured on the engine's final confidence, ruled-out answers included.
    kept = ~ruled_out
    oof = np.zeros(len(y))
    for train, test in StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=0).split(x, y):
        train = train[kept[train]]
        oof[test] = LogisticRegression(C=CALIBRATOR_C, max_iter=5000).fit(x[train], y[train]).predict_proba(x[test])[:, 1]
    oof[ruled_out] = 0.0
    ece = expected_calibration_error(oof, y)
    calibrator = LogisticRegression(C=CALIBRATOR_C, max_iter=5000).fit(x[kept], y[kept])
    confidence_cmrc = np.where(out_cmrc, 0.0, calibrator.predict_proba(x_cmrc)[:, 1])
    ece_cmrc = expected_calibration_error(confidence_cmrc, y_cmrc)
    print(f"calibrator: ECE {ece:.4f} out-of-fold over {len(y)} answers; on CMRC (out of domain) {ece_cmrc:.4f}")

    model["calibrator"] = {"features": list(CONFIDENCE_FEATURES), "weights": calibrator.coef_[0].tolist(),
                           "bias": float(calibrator.intercept_[0])}
    model["training"] = {
        "data": path.name,
        "questions": len(questions),
        "calibration_negatives": len(negatives),
        "in_domain_calibration": Path(args.calibration).name if Path(args.calibration).is_file() else None,
        "folds": args.folds,
        "cv_em": round(float(em.mean()), 4),
        "cv_f1": round(float(f1.mean()), 4),
        "cv_sentence_recall": round(float(np.mean(sentence_recall)), 4),
        "cv_exact_candidate": round(float(np.mean(oracle)), 4),
        "calibration_ece_oof": round(ece, 4),
        "calibration_ece_cmrc_out_of_domain": round(ece_cmrc, 4),
        "right_means": f"F1 >= {RIGHT_F1}",
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.time() - started, 1),
    }
    Path(args.out).write_text(json.dumps(model, ensure_ascii=False), "utf-8")
    print(f"saved {args.out} ({time.time() - started:.0f} s)")


if __name__ == "__main__":
    main()

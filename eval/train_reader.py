"""Train the answer reader (qa.answer) on news reading comprehension, DRCD and the CMRC 2018 trial, and fit its confidence.

    python eval/train_reader.py [--shared ../shared] [--epochs 14] [--members 2] [--out qa/data/reader.zip]

1. Data: ``qa-data/news_mrc_train.json``, ``qa-data/drcd_simplified.json`` and
   ``cmrc2018/cmrc2018_trial.json``, split by article (qa.evaluation.splits): their train
   splits are trained on, their dev splits choose the epoch and fit the confidence, their test
   splits are left alone. Why CMRC too: its questions are written by people about
   Wikipedia paragraphs, and its answers are often a clause long; trained on, its dev split
   gained about 8 EM / F1 points with news and DRCD dev about as before (eval/ABLATIONS.md). Every context is cut into chunks with the engine's own chunker
   and tagged as the index tags them. A question's training passages are the chunk
   holding its answer (labelled with the span) and passages without it (labelled
   "no answer here"): the other chunks of its context and the BM25 best chunks of
   other articles of the same split, as retrieval would bring them. Cloze questions generated
   from 8,000 People's Daily articles (``--generated``, eval/generated_questions.py) join the
   training questions, built the same way. With ``--swapped`` (off by default) a share of the
   questions get a near-miss unanswerable twin: a person or place name of the question that
   its answer passage holds is swapped for another, and the passage is labelled "no answer
   here" (eval/unanswerable_questions.py).
2. Character embeddings start from character statistics of news text (PPMI + SVD over
   the People's Daily corpus, leaving out every article of the People's Daily test and dev
   sets and those reporting the test set's stories, plus the training contexts).
3. The network (qa.answer.network) is trained with a softmax over "no answer" and
   every position for starts and ends; each epoch sees every answer passage and one
   passage without the answer per question, as windows of at most 160 characters (`--window`). The
   weights read and kept are an exponential moving average of the trained ones (``--ema``).
   After each epoch it reads the dev questions' passages; the epoch with the best mean dev
   F1 is kept. ``--members`` networks are trained so, from consecutive seeds, and saved as
   one ensemble whose logits are averaged (qa.answer.network.ReaderEnsemble). The members
   train side by side, a process and a core each (``--processes``): about 30 minutes for
   both on this 2-core machine.
4. Crossing heads: each member's fourth head (the probability that the answer holds a clause
   break, qa.answer.network) is fitted on its vectors of the training answer passages, its other
   weights frozen (``fit_crossing``; ``--refit-heads MODEL`` does this and steps 5 to 7
   for a saved reader).
5. Left-out prefixes: the words before a number that the real training answers leave out
   (qa.answer.prefixes) are counted and saved with the reader, which starts a span after them.
6. Span ranker: the engine reads each train-split question over the open corpus of its set's
   train split; LightGBM learns to rank the reader's ten most probable spans (right: an exact
   answer) from their named features (qa.answer.ranking, qa.answer.span_features).
   ``--no-span-ranker`` leaves it out.
7. Confidence: the engine answers the dev questions over an open corpus of the dev
   articles, and again with each question's gold article taken out (every answer then
   wrong: a real negative). The People's Daily dev set (eval/pd_dev.jsonl, hand-written
   over articles never trained on) joins them, its unanswerable questions as further real
   negatives. A logistic calibrator is fitted on these (right = F1 >= 0.5) and the
   threshold that best separates answerable from unanswerable on dev is saved.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import multiprocessing
import os
import pickle
import random
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from qa.answer import model_file, weights
from qa.answer.confidence import CONFIDENCE_FEATURES, Calibrator
from qa.answer.decoding import best_spans, holds_clause_break
from qa.answer.encoding import EncodedPassage, collate, encode_passage, encode_question
from qa.answer.network import ReaderConfig, ReaderNetwork, null_first_log_softmax
from qa.answer.predictor import MAX_PASSAGE_CHARS, MAX_QUESTION_CHARS
from qa.answer.prefixes import left_out_prefixes, prefix_counts
from qa.answer.ranking import CANDIDATES, SpanRanker
from qa.answer.span_features import span_features
from qa.answer.vocabulary import CharVocabulary
from qa.building import build_index
from qa.chunking import chunk_article
from qa.corpus import Article
from qa.engine import Engine
from qa.evaluation.datasets import EvalSet, load_eval_set
from qa.evaluation.metrics import exact_match, f1_score
from qa.evaluation.shared_corpus import SharedDataMissing
from qa.evaluation.splits import select
from qa.settings import Settings
from qa.sparse import SparseIndex
from qa.tokenization import pos_tags, tokenize

from generated_questions import GENERATOR_VERSION, generate, training_articles  # eval/, beside this script
from unanswerable_questions import name_pool, swapped_question

TRAINING_SETS = {"news_mrc_train": "qa-data/news_mrc_train.json", "drcd_simplified": "qa-data/drcd_simplified.json",
                 "cmrc2018_trial": "cmrc2018/cmrc2018_trial.json"}
# Sets whose dev splits are read after each epoch but which are not trained on (none now; the
# CMRC 2018 trial was one until its train split joined the training data).
HELD_OUT_SETS: dict[str, str] = {}
# Hand-written questions over People's Daily articles never trained on (eval/PD_DEV.md): a dev
# set of the product's own kind of text, for the confidence and for choices.
PD_DEV_SET = "pd_dev.jsonl"
SAME_CONTEXT_NEGATIVES = 2
RETRIEVED_NEGATIVES = 3
RIGHT_F1 = 0.5
TRAINING_WINDOW = 160


@dataclass
class Passage:
    """A chunk as the reader sees it, with the answer's position in it (-1 when absent)."""

    text: str
    tags: list[tuple[int, str]]
    start: int = -1
    end: int = -1


@dataclass
class Example:
    """A question with its gold answers and the passages it is trained or checked on."""

    dataset: str
    question: str
    answers: list[str]
    passages: list[Passage] = field(default_factory=list)


def chunk_contexts(data: dict, dataset: str) -> tuple[list[Passage], list[tuple[str, list[int], dict]]]:
    """Every context's chunks (tagged) and, per question, the chunk indexes of its own context."""
    chunks, questions = [], []
    for document in data["data"]:
        for number, paragraph in enumerate(document["paragraphs"]):
            article = Article(id=f"{dataset}-{document.get('title')}-{number}", title=document.get("title") or "",
                              path="", text=paragraph["context"])
            pieces = chunk_article(article, MAX_PASSAGE_CHARS - 100)
            own = []
            for piece in pieces:
                own.append(len(chunks))
                chunks.append((piece, Passage(piece.text, pos_tags(piece.text))))
            for qa in paragraph["qas"]:
                questions.append((qa, own, paragraph))
    return chunks, questions


def locate(chunk, text: str, answer: dict) -> tuple[int, int]:
    """The answer's (start, end) in a chunk, or (-1, -1) when the chunk does not hold it whole."""
    start = answer["answer_start"]
    offsets = [chunk.article_offset(i) for i in range(len(chunk.text))]
    if start not in offsets:
        return -1, -1
    begin = offsets.index(start)
    end = begin + len(answer["text"])
    return (begin, end) if chunk.text[begin:end] == answer["text"] else (-1, -1)


def build_examples(data: dict, dataset: str, rng: random.Random) -> list[Example]:
    """Training or checking examples of one split of one data set."""
    chunks, questions = chunk_contexts(data, dataset)
    sparse = SparseIndex.build([tokenize(c.text) for c, _ in chunks], np.arange(len(chunks)))
    examples = []
    for qa, own, _ in tqdm(questions, desc=f"examples {dataset}", unit="q", leave=False):
        question = qa["question"].strip()
        answers = list(dict.fromkeys(a["text"] for a in qa["answers"]))
        example = Example(dataset, question, answers)
        positive = None
        for index in own:
            start, end = locate(chunks[index][0], chunks[index][1].text, qa["answers"][0])
            if start >= 0:
                positive = index
                base = chunks[index][1]
                example.passages.append(Passage(base.text, base.tags, start, end))
                break
        if positive is None:
            continue  # the answer straddles two chunks: no clean label
        others = [i for i in own if i != positive]
        rng.shuffle(others)
        negatives = others[:SAME_CONTEXT_NEGATIVES]
        ids, _ = sparse.search(tokenize(question), RETRIEVED_NEGATIVES + len(own) + 2)
        negatives += [int(i) for i in ids if int(i) not in own][:RETRIEVED_NEGATIVES]
        for index in negatives:
            base = chunks[index][1]
            example.passages.append(Passage(base.text, base.tags))
        examples.append(example)
    return examples


def load_split(shared: Path, sets: dict[str, str], split: str, rng: random.Random) -> list[Example]:
    examples = []
    for dataset, relative in sets.items():
        data = select(json.loads((shared / relative).read_text("utf-8")), dataset, split)
        examples += build_examples(data, dataset, rng)
    return examples


def prepared(shared: Path, rng: random.Random) -> tuple[list[Example], dict[str, list[Example]]]:
    """Training and dev examples, cached under .qa-cache/ (chunking and tagging take minutes)."""
    key = hashlib.sha256(json.dumps([SAME_CONTEXT_NEGATIVES, RETRIEVED_NEGATIVES, MAX_PASSAGE_CHARS,
                                     sorted(TRAINING_SETS.items()), sorted(HELD_OUT_SETS.items())]).encode())
    cache = Path(".qa-cache") / f"reader-examples-{key.hexdigest()[:12]}.pkl"
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    train_examples = load_split(shared, TRAINING_SETS, "train", rng)
    dev_examples = {name: load_split(shared, {name: path}, "dev", rng)
                    for name, path in {**TRAINING_SETS, **HELD_OUT_SETS}.items()}
    cache.parent.mkdir(exist_ok=True)
    cache.write_bytes(pickle.dumps((train_examples, dev_examples)))
    return train_examples, dev_examples


def generated_examples(shared: Path, articles: int, seed: int, per_article: int = 1,
                       keywords: float = 0.0) -> list[Example]:
    """Training examples of questions generated from ``articles`` People's Daily articles (at most
    ``per_article`` each, from different paragraphs; eval/generated_questions.py), cached under
    .qa-cache/. Their own random stream, so the real examples and the dev examples stay the same
    with or without them."""
    per = "" if per_article == 1 else f"x{per_article}"  # the one-question cache keeps its old name
    per += f"k{keywords}" if keywords else ""
    cache = Path(".qa-cache") / f"generated-examples-v{GENERATOR_VERSION}-{articles}{per}-{seed}.pkl"
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    rng = random.Random(seed)
    pool = training_articles(shared)
    if not pool:
        print("no People's Daily corpus: training without generated questions", flush=True)
        return []
    rng.shuffle(pool)
    examples = build_examples(generate(pool[:articles], per_article, rng, keywords), "generated_pd", rng)
    cache.parent.mkdir(exist_ok=True)
    cache.write_bytes(pickle.dumps(examples))
    return examples


def swapped_examples(examples: list[Example], share: float, seed: int) -> list[Example]:
    """Near-miss unanswerable twins (eval/unanswerable_questions.py) of about ``share`` of the
    examples: the question with a name of its answer passage swapped for another, asked of that
    passage alone, which no longer answers it. Their own random stream, like the generated ones."""
    rng = random.Random(seed)
    pool = name_pool([e.question for e in examples])
    twins = []
    for example in tqdm(examples, desc="swapped questions", unit="q", leave=False):
        answer_passage = next((p for p in example.passages if p.start >= 0), None)
        if answer_passage is None or rng.random() >= share:
            continue
        question = swapped_question(example.question, answer_passage.text, example.answers, pool, rng)
        if question:
            twins.append(Example(example.dataset, question, [], [Passage(answer_passage.text, answer_passage.tags)]))
    return twins


# Feature groups an ablation run can switch off (zeroed inputs, for training and dev reading alike).
ABLATIONS = ("flags", "tags")


def encode_example(example: Example, vocabulary: CharVocabulary, ablate: tuple[str, ...] = ()):
    """The example's encoded question and passages, with ablated feature groups zeroed."""
    asked = encode_question(example.question[:MAX_QUESTION_CHARS], vocabulary)
    encoded = [encode_passage(p.text[:MAX_PASSAGE_CHARS], p.tags, asked, vocabulary) for p in example.passages]
    for item in [asked, *encoded]:
        if "tags" in ablate:
            item.pos[:] = 0
            item.boundary[:] = 0
        if "flags" in ablate and hasattr(item, "flags"):
            item.flags[:] = 0
    return asked, encoded


def encode(examples: list[Example], vocabulary: CharVocabulary, ablate: tuple[str, ...] = ()) -> list[tuple]:
    """Per example: the encoded question and its passages as (encoded, first, last) with the answer's
    first and last character (-1 when the passage does not hold it)."""
    encoded_examples = []
    for example in examples:
        asked, encoded_passages = encode_example(example, vocabulary, ablate)
        passages = []
        for passage, encoded in zip(example.passages, encoded_passages):
            inside = 0 <= passage.start and passage.end <= len(encoded.text)
            passages.append((encoded, passage.start if inside else -1, passage.end - 1 if inside else -1))
        encoded_examples.append((asked, passages))
    return encoded_examples


def crop(encoded: EncodedPassage, first: int, last: int, width: int, rng: random.Random):
    """A window of at most width characters (holding the answer, if any): training on windows
    halves the cost per epoch, and convolutions read full passages the same way."""
    if len(encoded.text) <= width or last - first + 1 > width:
        return encoded, first, last
    low = max(0, last - width + 1) if first >= 0 else 0
    high = min(first, len(encoded.text) - width) if first >= 0 else len(encoded.text) - width
    offset = rng.randint(low, max(low, high))
    window = slice(offset, offset + width)
    piece = EncodedPassage(encoded.text[window], encoded.chars[window], encoded.pos[window],
                           encoded.boundary[window], encoded.flags[window])
    return piece, (first - offset if first >= 0 else -1), (last - offset if first >= 0 else -1)


def epoch_rows(encoded_examples: list[tuple], rng: random.Random, window: int = TRAINING_WINDOW) -> list[tuple]:
    """One epoch's training rows: every answer passage, and one passage without the answer per question."""
    rows = []
    for asked, passages in encoded_examples:
        positives = [p for p in passages if p[1] >= 0]
        negatives = [p for p in passages if p[1] < 0]
        for encoded, first, last in positives + rng.sample(negatives, min(1, len(negatives))):
            rows.append((asked, *crop(encoded, first, last, window, rng)))
    return rows


def loss_of(network: ReaderNetwork, rows, crossing_weight: float = 0.0) -> torch.Tensor:
    """Negative log-likelihood of the rows' starts and ends (or of "no answer"); with crossing_weight,
    plus that weight times the crossing head's binary cross-entropy on the rows holding an answer
    (its features then learn what it needs; the head itself is fitted again afterwards either way)."""
    start, end, no_answer, crossing = network(collate([(q, p) for q, p, _, _ in rows]))
    # Column 0: no answer; column i + 1: position i (qa.answer.decoding reads the same softmax).
    start_lp, end_lp = null_first_log_softmax(start, no_answer), null_first_log_softmax(end, no_answer)
    starts = torch.tensor([s for _, _, s, _ in rows])
    ends = torch.tensor([e for _, _, _, e in rows])
    has = starts >= 0
    index = torch.arange(len(rows))
    picked_start = start_lp[index, (starts + 1).clamp(min=0)]  # a row without an answer (-1) picks column 0
    picked_end = end_lp[index, (ends + 1).clamp(min=0)]
    loss = -(picked_start + picked_end).mean()
    if crossing_weight and bool(has.any()):
        crosses = torch.tensor([s >= 0 and holds_clause_break(p.text[s : e + 1]) for _, p, s, e in rows])
        loss = loss + crossing_weight * torch.nn.functional.binary_cross_entropy_with_logits(
            crossing[has], crosses[has].float())
    return loss


def read_examples(network: ReaderNetwork, vocabulary: CharVocabulary, examples: list[Example],
                  ablate: tuple[str, ...] = ()) -> dict:
    """EM and F1 of the best span over each example's passages (the reader alone, no retrieval)."""
    network.eval()
    em = f1 = 0.0
    with torch.inference_mode():
        for example in examples:
            asked, encoded = encode_example(example, vocabulary, ablate)
            scores = network(collate([(asked, e) for e in encoded]))
            spans = best_spans(*(score.numpy() for score in scores), [e.text for e in encoded])
            best = max(spans, key=lambda s: s.log_probability)
            answer = encoded[best.passage].text[best.start : best.end]
            em += exact_match(answer, example.answers)
            f1 += f1_score(answer, example.answers)
    network.train()
    n = max(len(examples), 1)
    return {"em": round(em / n, 4), "f1": round(f1 / n, 4), "questions": len(examples)}


def crossing_rows(examples: list[Example], vocabulary: CharVocabulary) -> tuple[list[tuple], np.ndarray]:
    """The answer passages of the examples as (question, passage) pairs, and whether each answer
    holds a clause break (qa.answer.decoding.holds_clause_break): what the crossing head is fitted on."""
    pairs, crosses = [], []
    for example in tqdm(examples, desc="crossing rows", unit="q", leave=False):
        answered = [p for p in example.passages if p.start >= 0 and p.end <= MAX_PASSAGE_CHARS]
        if not answered:
            continue
        asked = encode_question(example.question[:MAX_QUESTION_CHARS], vocabulary)
        for passage in answered:
            pairs.append((asked, encode_passage(passage.text[:MAX_PASSAGE_CHARS], passage.tags, asked, vocabulary)))
            crosses.append(holds_clause_break(passage.text[passage.start : passage.end]))
    return pairs, np.array(crosses)


def summaries(network: ReaderNetwork, pairs: list[tuple], batch: int = 64) -> np.ndarray:
    """The network's (pairs, 3h) summaries of the pairs, which its no-answer and crossing heads read."""
    network.eval()
    order = sorted(range(len(pairs)), key=lambda i: len(pairs[i][1].text))  # less padding
    out = np.zeros((len(pairs), network.crossing.in_features), np.float32)
    with torch.inference_mode():
        for first in range(0, len(order), batch):
            indexes = order[first : first + batch]
            out[indexes] = network.spans_and_summary(collate([pairs[i] for i in indexes]))[2].numpy()
    return out


def fit_crossing(members: list[ReaderNetwork], vocabulary: CharVocabulary, train_examples: list[Example],
                 dev_examples: dict[str, list[Example]]) -> dict:
    """Fit each member's crossing head (qa.answer.network), its other weights frozen: a logistic
    regression on its summaries of the training answer passages, labelled by whether the answer
    holds a clause break. Returns what the fit saw: rows, share crossing, dev log-loss before and after."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, roc_auc_score

    pairs, crosses = crossing_rows(train_examples, vocabulary)
    dev_pairs, dev_crosses = crossing_rows([e for examples in dev_examples.values() for e in examples], vocabulary)
    dev_logits = []
    for member in members:
        model = LogisticRegression(C=1.0, max_iter=3000).fit(summaries(member, pairs), crosses)
        with torch.no_grad():
            member.crossing.weight.copy_(torch.from_numpy(model.coef_.astype(np.float32)))
            member.crossing.bias.fill_(float(model.intercept_[0]))
        dev_logits.append(summaries(member, dev_pairs) @ model.coef_[0] + model.intercept_[0])
    dev_probability = 1 / (1 + np.exp(-np.mean(dev_logits, 0)))  # the ensemble averages the logits
    return {"rows": int(len(crosses)), "crossing_share": round(float(crosses.mean()), 4),
            "dev_rows": int(len(dev_crosses)), "dev_crossing_share": round(float(dev_crosses.mean()), 4),
            "dev_log_loss_base_rate": round(float(log_loss(dev_crosses, np.full(len(dev_crosses), crosses.mean()))), 4),
            "dev_log_loss": round(float(log_loss(dev_crosses, dev_probability)), 4),
            "dev_auc": round(float(roc_auc_score(dev_crosses, dev_probability)), 4)}


def corpus_texts(shared: Path) -> list[str]:
    """People's Daily articles for character statistics, leaving out every article the
    People's Daily test or dev set uses or that reports the test set's stories (eval/pd*.corpus.json)."""
    return ["\n".join(row["paragraphs"]) for row in training_articles(shared)]


def pretrained_chars(texts: list[str], vocabulary: CharVocabulary, dim: int, window: int = 2) -> np.ndarray:
    """Character vectors from news text: a truncated SVD of the positive pointwise mutual
    information of characters within `window` of each other (Levy and Goldberg's count-based
    equivalent of word2vec), scaled like a fresh embedding. Rows 0 and 1 (padding, unknown) stay 0."""
    from sklearn.utils.extmath import randomized_svd

    size = len(vocabulary)
    ids = vocabulary.ids("\n".join(texts))
    counts = np.zeros(size * size, np.float64)
    for shift in range(1, window + 1):
        pairs = ids[:-shift] * size + ids[shift:]
        counts += np.bincount(pairs, minlength=size * size)
    counts = counts.reshape(size, size)
    counts = counts + counts.T
    counts[:2, :] = counts[:, :2] = 0
    rows = counts.sum(1, keepdims=True)
    contexts = counts.sum(0, keepdims=True) ** 0.75  # smoothed context distribution
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(counts * contexts.sum() / (rows * contexts))
    ppmi = np.nan_to_num(np.maximum(pmi, 0.0), nan=0.0, posinf=0.0, neginf=0.0)
    u, s, _ = randomized_svd(ppmi, dim, random_state=0)
    vectors = u * np.sqrt(s)
    vectors[:2] = 0.0
    return (vectors / (vectors[2:].std() + 1e-9)).astype(np.float32)


def train(encoded_examples, dev_examples, vocabulary, config: ReaderConfig, epochs: int, batch: int, lr: float, seed: int,
          char_vectors: np.ndarray | None = None, ablate: tuple[str, ...] = (), ema_decay: float = 0.0,
          window: int = TRAINING_WINDOW, crossing_weight: float = 0.0):
    """The trained network: the epoch with the best mean dev F1. With ema_decay, the weights read on
    dev (and kept) are an exponential moving average of the training weights, which smooths the
    epoch-to-epoch swings of the dev figures."""
    torch.manual_seed(seed)
    network = ReaderNetwork(config)
    if char_vectors is not None:
        with torch.no_grad():
            network.char.weight.copy_(torch.from_numpy(char_vectors))
    optimizer = torch.optim.AdamW(network.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * math.ceil(2 * len(encoded_examples) / batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.1)
    rng = random.Random(seed)
    averaged = None
    if ema_decay:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        averaged = AveragedModel(network, multi_avg_fn=get_ema_multi_avg_fn(ema_decay))
    best, best_state, history = -1.0, None, []
    for epoch in range(1, epochs + 1):
        network.train()
        train_rows = epoch_rows(encoded_examples, rng, window)
        order = list(range(len(train_rows)))
        rng.shuffle(order)
        # Similar lengths together: less padding per batch.
        blocks = [order[i : i + batch * 50] for i in range(0, len(order), batch * 50)]
        batches = []
        for block in blocks:
            block.sort(key=lambda i: len(train_rows[i][1].text))
            batches += [block[i : i + batch] for i in range(0, len(block), batch)]
        rng.shuffle(batches)
        total, started = 0.0, time.time()
        for indexes in tqdm(batches, desc=f"epoch {epoch}", unit="batch", leave=False):
            loss = loss_of(network, [train_rows[i] for i in indexes], crossing_weight)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), 5.0)
            optimizer.step()
            if schedule.last_epoch + 1 < steps:
                schedule.step()
            if averaged is not None:
                averaged.update_parameters(network)
            total += float(loss.detach()) * len(indexes)
        reader = network if averaged is None else averaged.module
        scores = {name: read_examples(reader, vocabulary, examples, ablate) for name, examples in dev_examples.items()}
        mean_f1 = float(np.mean([s["f1"] for s in scores.values()]))
        history.append({"epoch": epoch, "loss": round(total / len(train_rows), 4), "seconds": round(time.time() - started),
                        "dev": scores})
        print(json.dumps(history[-1], ensure_ascii=False), flush=True)
        if mean_f1 > best:
            best, best_state = mean_f1, {k: v.detach().clone() for k, v in reader.state_dict().items()}
    network.load_state_dict(best_state)
    network.eval()
    return network, history


def _train_member(threads: int, encoded_examples, seed: int, options: dict):
    torch.set_num_threads(threads)
    return train(encoded_examples, seed=seed, **options)


def train_members(encoded_examples, seeds: list[int], processes: int, threads: int, **options) -> list[tuple]:
    """(network, history) for each network seed: one after another, or side by side in ``processes``
    processes sharing the threads. The network trains on one core nearly as fast as on two, so two
    members side by side take about half the time. A member's weights depend on its seed and, by float
    rounding alone, on its thread count."""
    if processes <= 1:
        torch.set_num_threads(threads)
        return [train(encoded_examples, seed=seed, **options) for seed in seeds]
    share = max(1, threads // processes)
    with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_train_member, share, encoded_examples, seed, options) for seed in seeds]
        return [future.result() for future in futures]


def pd_dev_set(shared: Path) -> EvalSet | None:
    """The People's Daily dev set (eval/pd_dev.jsonl over eval/pd_dev.corpus.json), each question
    with the article it was written on as its gold article; None without the set or the corpus."""
    path = Path(__file__).resolve().parent / PD_DEV_SET
    if not path.is_file():
        return None
    try:
        eval_set = load_eval_set(path, shared=shared)
    except SharedDataMissing:
        return None
    return eval_set.model_copy(update={"items": [item.model_copy(update={"gold_article": item.article})
                                                 for item in eval_set.items]})


def split_sets(shared: Path, split: str = "dev", with_pd_dev: bool = True):
    """Every set of a split by name: that split of each training set, then for dev the People's Daily dev set."""
    for dataset, relative in TRAINING_SETS.items():
        yield dataset, load_eval_set(shared / relative, split)
    pd_dev = pd_dev_set(shared) if with_pd_dev and split == "dev" else None
    if pd_dev is not None:
        yield "pd_dev", pd_dev


def split_engines(shared: Path, data: dict, settings: Settings, with_pd_dev: bool = True, split: str = "dev"):
    """For each set of the split (``split_sets``; dev unless told): its name, the set and an engine
    (reading with ``data``) over the set's open corpus, indexed in a temporary folder."""
    for dataset, eval_set in split_sets(shared, split, with_pd_dev):
        with tempfile.TemporaryDirectory(prefix=f"qa-{split}-") as folder:
            build_index(eval_set.corpus, Path(folder) / "index", settings, progress=False)
            yield dataset, eval_set, Engine.load(Path(folder) / "index", settings, model=data)


def ranker_rows(shared: Path, data: dict, settings: Settings) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per train-split question: its candidate spans' features and whether each is an exact answer,
    the candidates read as the engine reads them (retrieved over the open corpus of its set's train
    split, qa.answer.ranking.candidates)."""
    features, labels = [], []
    for dataset, eval_set, engine in split_engines(shared, data, settings, with_pd_dev=False, split="train"):
        for item in tqdm(eval_set.items, desc=f"span candidates {dataset}", unit="q", leave=False):
            try:
                passages = engine.retrieve(item.question)
            except ValueError:  # a question the engine refuses (empty, over-long)
                continue
            found = engine.predictor.candidates(item.question, passages)
            if item.answerable and found:
                features.append(span_features(found))
                labels.append(np.array([exact_match(c.text, item.answers) for c in found], np.float64))
    return features, labels


def without_gold_article(retrieved: list, gold_article: str, top_k: int) -> list:
    """The retrieved passages of other articles, ranked as if the gold article had never been in
    the corpus; copies, so that the open corpus's passages keep their own ranks."""
    others = (p for p in retrieved if p.chunk.article_id != gold_article)
    return [p.model_copy(update={"rank": rank}) for rank, p in enumerate(others, start=1)][:top_k]


def calibration_rows(shared: Path, data: dict, settings: Settings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Confidence features, right-or-wrong labels and answerable flags for the dev questions:
    each answerable one asked over the open corpus of its set, and again without its gold
    article; each unanswerable one (the People's Daily dev set has them) over the open corpus."""
    features, labels, answerable = [], [], []
    for dataset, eval_set, engine in split_engines(shared, data, settings):
        for item in tqdm(eval_set.items, desc=f"calibrating {dataset}", unit="q", leave=False):
            retrieved = engine.retrieve(item.question, settings.top_k + 10)
            cases = [(retrieved[: settings.top_k], item.answerable)]
            if item.answerable:
                cases.append((without_gold_article(retrieved, item.gold_article, settings.top_k), False))
            for passages, has_gold in cases:
                reading = engine.predictor.read(item.question, passages)
                if reading.chosen is None:
                    continue
                features.append(reading.confidence_features())
                labels.append(item.answerable and f1_score(reading.answer(), item.answers) >= RIGHT_F1)
                answerable.append(has_gold)
    return np.array(features), np.array(labels), np.array(answerable)


def fit_calibrator(features: np.ndarray, labels: np.ndarray, answerable: np.ndarray) -> dict:
    """Logistic calibrator on the dev rows, and the threshold that best separates questions the
    corpus answers from those it does not (mean of answered-rate and abstained-rate)."""
    from sklearn.linear_model import LogisticRegression

    mean, scale = features.mean(0), features.std(0) + 1e-6
    model = LogisticRegression(C=1.0, max_iter=2000).fit((features - mean) / scale, labels)
    params = {"features": list(CONFIDENCE_FEATURES), "mean": mean.tolist(), "scale": scale.tolist(),
              "weights": model.coef_[0].tolist(), "bias": float(model.intercept_[0]), "threshold": 0.0}
    confidence = np.array([Calibrator(params)(row) for row in features])
    threshold, balanced = best_balanced_threshold(confidence, answerable)
    params["threshold"] = threshold
    params["dev"] = {"rows": int(len(labels)), "right": int(labels.sum()), "balanced_accuracy": round(balanced, 4)}
    return params


def best_balanced_threshold(confidence: np.ndarray, answerable: np.ndarray) -> tuple[float, float]:
    """The confidence threshold (to 3 decimals) with the best balanced accuracy: the mean of the
    answered share of answerable rows and the abstained share of the others; and that accuracy."""
    candidates = np.unique(np.round(confidence, 3))
    balanced = [((confidence[answerable] >= c).mean() + (confidence[~answerable] < c).mean()) / 2 for c in candidates]
    best = int(np.argmax(balanced))
    return float(candidates[best]), float(balanced[best])


def fit_heads_and_save(members: list[ReaderNetwork], vocabulary: CharVocabulary, training: dict,
                       train_examples: list[Example], dev_examples: dict[str, list[Example]], args, settings: Settings,
                       started: float, record_seconds: bool = True) -> None:
    """The last steps of every run: fit the members' crossing heads, count the words before numbers
    that the real training answers leave out (qa.answer.prefixes), bundle them, fit the calibrator
    and save the model file to ``args.out`` (with record_seconds, the run's time in its training record)."""
    training["crossing"] = fit_crossing(members, vocabulary, train_examples, dev_examples)
    print(f"crossing heads: {json.dumps(training['crossing'])}", flush=True)
    counts = prefix_counts((p.text, p.start, p.end) for e in train_examples if e.dataset in TRAINING_SETS
                           for p in e.passages if p.start >= 0)
    left_out = left_out_prefixes(counts)
    training["left_out_prefixes"] = {prefix: list(counts[prefix]) for prefix in left_out}  # kept, left out
    print(f"left-out prefixes: {json.dumps(training['left_out_prefixes'], ensure_ascii=False)}", flush=True)
    data = weights.bundle(members, vocabulary, Calibrator.identity(), training)
    data["left_out_prefixes"] = left_out  # before the ranker and calibrator, which see the spans as they are answered
    if args.span_ranker:
        data["span_ranker"] = SpanRanker.fit(*ranker_rows(args.shared, data, settings))
        training["span_ranker"] = {"questions": data["span_ranker"]["questions"], "candidates": CANDIDATES}
        print(f"span ranker: {json.dumps(training['span_ranker'])}", flush=True)
    data["calibrator"] = fit_calibrator(*calibration_rows(args.shared, data, settings))
    torch.set_num_threads(args.threads)
    if record_seconds:
        data["training"]["seconds"] = round(time.time() - started)
    model_file.save(data, args.out)
    print(json.dumps(data["calibrator"]["dev"]), f"threshold {data['calibrator']['threshold']}", flush=True)
    print(f"saved {args.out} after {time.time() - started:.0f} s", flush=True)


def refit_heads(train_examples: list[Example], dev_examples: dict[str, list[Example]], args, settings: Settings,
                started: float) -> None:
    """``--refit-heads``: the crossing heads, left-out prefixes, span ranker and calibrator of a saved reader
    fitted again, its other weights as they are. The source may predate the heads (model file format 3), so it is read
    without the version check and its members start with the heads at zero."""
    data = weights.read_any(args.refit_heads)
    training = dict(data["training"], crossing_fitted_after=f"python eval/train_reader.py --refit-heads {args.refit_heads}")
    fit_heads_and_save(weights.members_of(data, missing_ok="crossing."), CharVocabulary(data["vocabulary"]),
                       training, train_examples, dev_examples, args, settings, started, record_seconds=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--epochs", type=int, default=14)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--seed", type=int, default=13, help="the data's seed (negatives, vocabulary)")
    parser.add_argument("--network-seed", type=int, help="the network's seed (initial weights, batch order); --seed if unset")
    parser.add_argument("--ema", type=float, default=0.998,
                        help="read and keep an exponential moving average of the weights with this decay (0: the weights)")
    parser.add_argument("--window", type=int, default=TRAINING_WINDOW,
                        help="characters of a passage one training row shows (the answer inside)")
    parser.add_argument("--members", type=int, default=2, help="readers trained from different seeds, read as one ensemble")
    parser.add_argument("--no-pretrained-chars", action="store_true",
                        help="start character embeddings at random instead of from news-text statistics")
    parser.add_argument("--ablate", nargs="*", default=[], choices=ABLATIONS,
                        help="switch feature groups off to measure what they bring (the model is not saved)")
    parser.add_argument("--generated", type=int, default=8000,
                        help="also train on questions generated from this many People's Daily articles (one each; "
                             "0: none; none either when the corpus is absent); 8000 chosen on dev (eval/ABLATIONS.md)")
    parser.add_argument("--keyword-questions", type=float, default=0.0,
                        help="the share of generated questions made of a few words of the answer's clause "
                             "(eval/generated_questions.py: _keyword_question) instead of the clause itself")
    parser.add_argument("--generated-per-article", type=int, default=1,
                        help="questions generated from each of those articles at most, each from another paragraph")
    parser.add_argument("--swapped", type=float, default=0.0,
                        help="share of training questions given a near-miss unanswerable twin (a name swapped; "
                             "eval/unanswerable_questions.py); 0: none, as shipped: 0.25 and 0.5 withheld "
                             "four to five times more near-miss questions but cost answerable ones "
                             "(eval/ABLATIONS.md)")
    parser.add_argument("--crossing-loss", type=float, default=0.0,
                        help="train the crossing head with the spans, its cross-entropy weighted so (0: fitted afterwards only)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads, shared by members trained side by side")
    parser.add_argument("--processes", type=int, default=0,
                        help="members trained side by side (0: as many as cores, at most --members)")
    parser.add_argument("--limit", type=int, default=0, help="train on at most this many questions (a quick check)")
    parser.add_argument("--out", type=Path, default=model_file.MODEL_FILE)
    parser.add_argument("--calibrate-only", type=Path, help="refit the calibrator of this model file, no training")
    parser.add_argument("--no-span-ranker", dest="span_ranker", action="store_false",
                        help="answer the reader's most probable span, without a span ranker (qa.answer.ranking)")
    # --fit-crossing-only: its first name, from when it fitted the crossing heads alone (model files record it).
    parser.add_argument("--refit-heads", "--fit-crossing-only", type=Path,
                        help="refit the crossing heads, the left-out prefixes, the span ranker and then the calibrator of this model "
                             "file (also one saved before the heads existed), the rest of its weights as they are")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.time()
    settings = Settings(_env_file=None)
    if args.calibrate_only:
        data = model_file.load(args.calibrate_only)
        data["calibrator"] = fit_calibrator(*calibration_rows(args.shared, data, settings))
        torch.set_num_threads(args.threads)
        model_file.save(data, args.out)
        print(json.dumps(data["calibrator"]["dev"]), f"threshold {data['calibrator']['threshold']}", flush=True)
        return
    rng = random.Random(args.seed)
    train_examples, dev_examples = prepared(args.shared, rng)
    if args.limit:
        train_examples = train_examples[: args.limit]
    generated = (generated_examples(args.shared, args.generated, args.seed, args.generated_per_article,
                                    args.keyword_questions)
                 if args.generated else [])
    if generated:
        print(f"{len(generated)} generated questions", flush=True)
        train_examples = train_examples + generated
    if args.refit_heads:
        refit_heads(train_examples, dev_examples, args, settings, started)
        return
    swapped = swapped_examples(train_examples, args.swapped, args.seed) if args.swapped else []
    if swapped:
        print(f"{len(swapped)} near-miss unanswerable questions", flush=True)
        train_examples = train_examples + swapped
    vocabulary = CharVocabulary.build(
        [e.question for e in train_examples] + [p.text for e in train_examples for p in e.passages]
    )
    print(f"{len(train_examples)} training questions, vocabulary {len(vocabulary)}, "
          f"prepared in {time.time() - started:.0f} s", flush=True)
    config = ReaderConfig(vocabulary_size=len(vocabulary), hidden=args.hidden)
    char_vectors = None
    if not args.no_pretrained_chars:
        texts = corpus_texts(args.shared)
        texts += [p.text for e in train_examples for p in e.passages]
        char_vectors = pretrained_chars(texts, vocabulary, config.char_dim)
        print(f"character vectors from {len(texts)} texts after {time.time() - started:.0f} s", flush=True)
    ablate = tuple(args.ablate)
    first_seed = args.seed if args.network_seed is None else args.network_seed
    seeds = [first_seed + member for member in range(1 if ablate else args.members)]
    processes = min(len(seeds), args.processes or os.cpu_count() or 1)
    print(f"{len(seeds)} member(s), network seeds {seeds}, {processes} at a time", flush=True)
    results = train_members(encode(train_examples, vocabulary, ablate), seeds, processes, args.threads,
                            dev_examples=dev_examples, vocabulary=vocabulary, config=config, epochs=args.epochs,
                            batch=args.batch, lr=args.lr, char_vectors=char_vectors, ablate=ablate,
                            ema_decay=args.ema, window=args.window, crossing_weight=args.crossing_loss)
    members = [network for network, _ in results]
    trained = [{"network_seed": seed, "history": history} for seed, (_, history) in zip(seeds, results)]
    if ablate:
        print(f"ablation {ablate}: not saved", flush=True)
        return
    training = {
        "command": "python eval/train_reader.py " + " ".join(sys.argv[1:]),
        "data": {name: f"{path} (train split by article)" for name, path in TRAINING_SETS.items()}
        | ({"generated_pd": f"{len(generated)} questions generated from {args.generated} People's Daily articles"
                            + (f" (at most {args.generated_per_article} each)" if args.generated_per_article > 1 else "")}
           if generated else {})
        | ({"swapped": f"{len(swapped)} near-miss unanswerable twins of training questions (a name swapped)"}
           if swapped else {}),
        "held_out": list(HELD_OUT_SETS),
        "questions": len(train_examples),
        "ema": args.ema,
        "members": trained,
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(time.time() - started),
    }
    fit_heads_and_save(members, vocabulary, training, train_examples, dev_examples, args, settings, started)


if __name__ == "__main__":
    main()

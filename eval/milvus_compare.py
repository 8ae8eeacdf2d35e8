"""The local backend against Milvus (Milvus Lite here): recall and ask latency, side by side; writes eval/milvus.md.

    python eval/milvus_compare.py [--cmrc ../shared/cmrc2018/cmrc2018_trial.json] [--seeds eval/seeds.jsonl]
                                  [--out eval/milvus.md] [--limit N]

For each question set (CMRC 2018 trial, open corpus; the seed questions over corpus/), the
corpus is indexed once per configuration:

* local: FAISS (flat) + bm25s + SQLite, as `qa index` builds it;
* milvus, analyzer "tokens": Milvus's BM25 function over our jieba tokens, HNSW dense index;
* milvus, analyzer "jieba": Milvus's BM25 function over the text cut by its own jieba analyzer;

then every question is asked as `qa eval` asks it (qa.evaluation.runner.predict: retrieval of
10 passages, the answer from the top 3, timed per question with the index loaded) with the
default weighted fusion, and again with BM25 alone (the Milvus BM25 vs bm25s comparison). The
backends take turns question by question, so that the load of this shared machine weighs on all
alike. (Milvus Lite's recall@1 of its rankers counts the SQuAD questions without the empty ones.)
Finally Milvus's own hybrid search with its RRF and weighted rankers is scored on retrieval
alone, against our fusion (qa.fusion) over Milvus's two result lists.
Each Milvus configuration gets a Lite file of its own in a temporary folder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from qa.backends import get_backend  # noqa: E402
from qa.backends.milvus.schema import dense_search_params  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.evaluation.datasets import EvalSet, load_eval_set  # noqa: E402
from qa.evaluation.metrics import contains_answer  # noqa: E402
from qa.evaluation.runner import WARMUP_QUESTIONS, predict  # noqa: E402
from qa.evaluation.summary import summarize  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.tokenization import tokenize  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = [("local", {}), ("milvus-tokens", {"milvus_analyzer": "tokens"}), ("milvus-jieba", {"milvus_analyzer": "jieba"})]
METRICS = ("recall@1", "recall@5", "mrr", "em", "f1", "latency_ms_p50", "latency_ms_p95")


def _settings(name: str, extra: dict, folder: Path) -> Settings:
    settings = Settings(_env_file=None, corpus_dir=ROOT / "corpus")
    if name.startswith("milvus"):
        settings = settings.model_copy(update={"backend": "milvus", "milvus_uri": str(folder / f"{name}.db"),
                                               "milvus_collection": "compare", **extra})
    return settings


def _corpus(eval_set: EvalSet):
    return eval_set.corpus if eval_set.corpus is not None else ROOT / "corpus"


def _is_hit(item, article_id: str, text: str) -> bool:
    if item.gold_article is not None:
        return article_id == item.gold_article
    return contains_answer(text.replace("\n", ""), item.answers)


def retrieve_times(engines: dict[str, Engine], items) -> dict[str, dict[str, float]]:
    """p50 and p95 of retrieval alone (both searches, fusion, chunks read; no answer step) in ms, by engine,
    each question retrieved by every engine in turn."""
    times: dict[str, list[float]] = {name: [] for name in engines}
    for item in [item for item in items if item.question.strip()]:
        for name, engine in engines.items():
            started = time.perf_counter()
            engine.retrieve(item.question, 10)
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: {"p50": round(float(np.percentile(t, 50)), 3), "p95": round(float(np.percentile(t, 95)), 3)}
            for name, t in times.items()}


def milvus_rankers(engine: Engine, items) -> dict[str, dict]:
    """Recall of Milvus's hybrid_search with its RRF and weighted rankers (retrieval only, top 10)."""
    from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker

    index, settings = engine.index, engine.settings
    collection = index.manifest.collections["chunks"]
    rankers = {"milvus RRF (k=60)": RRFRanker(60),
               "milvus weighted (0.8 BM25, 0.2 dense)": WeightedRanker(1 - settings.dense_weight, settings.dense_weight)}
    answerable = [item for item in items if item.answerable and item.question.strip()]
    results = {}
    for name, ranker in rankers.items():
        ranks, times = [], []
        try:
            for item in answerable:
                started = time.perf_counter()
                text = index.sparse.query_text(tokenize(item.question))  # as the engine sends it
                vector = index.encoder.encode_query(item.question).reshape(-1).tolist()
                requests = [
                    AnnSearchRequest(data=[text], anns_field="sparse", param={"metric_type": "BM25"},
                                     limit=settings.candidates),
                    AnnSearchRequest(data=[vector], anns_field="dense",
                                     param=dense_search_params(settings, settings.candidates), limit=settings.candidates),
                ]
                hits = index.client.hybrid_search(collection, requests, ranker=ranker, limit=10,
                                                  output_fields=["article_id", "text"])[0]
                times.append((time.perf_counter() - started) * 1000)
                ranks.append(next((rank for rank, hit in enumerate(hits, start=1)
                                   if _is_hit(item, hit["entity"]["article_id"], hit["entity"]["text"])), None))
        except Exception as error:  # what Milvus Lite does not support is reported, not hidden
            results[name] = {"error": f"{error.__class__.__name__}: {error}"[:300]}
            continue
        results[name] = {
            **{f"recall@{k}": round(sum(r is not None and r <= k for r in ranks) / len(ranks), 4) for k in (1, 5)},
            "search_ms_p50": round(float(np.percentile(times, 50)), 3),
        }
    return results


def _interleaved(engines: dict[str, Engine], items) -> dict[str, list]:
    """Every item asked of every engine in turn, as `qa eval` asks it (qa.evaluation.runner.predict), so that
    all backends are timed under the same load of this shared machine; predictions by engine name."""
    for engine in engines.values():  # untimed warm-up, as runner.run does
        for item in [item for item in items if item.question.strip()][:WARMUP_QUESTIONS]:
            engine.ask(item.question)
    predictions: dict[str, list] = {name: [] for name in engines}
    last: dict[str, dict] = {name: {} for name in engines}
    for item in items:
        for name, engine in engines.items():
            prediction = predict(engine, item, last[name].get(item.dialogue))
            last[name][item.dialogue] = prediction.asked
            predictions[name].append(prediction)
    return predictions


def compare(path: Path, limit: int | None, folder: Path) -> dict:
    """Every configuration over one question set: result objects by configuration and fusion."""
    eval_set = load_eval_set(path)
    items = eval_set.items[:limit] if limit else eval_set.items
    out = {"set": eval_set.name, "questions": len(items), "configs": {}}
    with ExitStack() as stack:
        engines: dict[str, Engine] = {}
        for name, extra in CONFIGS:
            settings = _settings(name, extra, folder)
            backend = get_backend(settings)
            target = stack.enter_context(backend.scratch())
            started = time.perf_counter()
            manifest = backend.build(_corpus(eval_set), target, progress=False)
            build = time.perf_counter() - started
            engines[name] = Engine.load(target, settings)
            out["configs"][name] = {"chunks": manifest.chunks, "build_seconds": round(build, 1)}
        for fusion in ("weighted", "bm25"):
            variants = {name: Engine(engine.index, engine.settings.model_copy(update={"fusion": fusion}),
                                     engine.predictor.model) for name, engine in engines.items()}
            for name, predictions in _interleaved(variants, items).items():
                result = summarize(predictions, 0.0, {})
                out["configs"][name][fusion] = {metric: result[metric] for metric in METRICS}
                print(f"{eval_set.name} {name} {fusion}: " + json.dumps(out["configs"][name][fusion]), flush=True)
        for name, times in retrieve_times(engines, items).items():
            out["configs"][name]["retrieve_ms"] = times
        for name, engine in engines.items():
            if name.startswith("milvus"):
                out["configs"][name]["rankers"] = milvus_rankers(engine, items)
                print(f"{eval_set.name} {name} rankers: " + json.dumps(out["configs"][name]["rankers"]), flush=True)
    return out


def _table(result: dict) -> list[str]:
    lines = [f"### {result['set']} ({result['questions']} questions)", "",
             "| backend | fusion | recall@1 | recall@5 | mrr | EM | F1 | ask p50 ms | ask p95 ms | chunks | build s |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    retrieval = ["", "Retrieval alone (both searches, fusion, chunks read), weighted fusion:", "",
                 "| backend | retrieve p50 ms | retrieve p95 ms |", "|---|---:|---:|"]
    for name, row in result["configs"].items():
        for fusion in ("weighted", "bm25"):
            m = row[fusion]
            label = "weighted (ours)" if fusion == "weighted" else "BM25 alone"
            lines.append(f"| {name} | {label} | {m['recall@1']:.4f} | {m['recall@5']:.4f} | {m['mrr']:.4f} | "
                         f"{m['em']:.4f} | {m['f1']:.4f} | {m['latency_ms_p50']:.1f} | {m['latency_ms_p95']:.1f} | "
                         f"{row['chunks']} | {row['build_seconds']} |")
        retrieval.append(f"| {name} | {row['retrieve_ms']['p50']:.1f} | {row['retrieve_ms']['p95']:.1f} |")
    lines += retrieval
    lines += ["", "Milvus's own hybrid search (retrieval only, top 10; our fusion above is over the same two lists):", "",
              "| backend | ranker | recall@1 | recall@5 | hybrid_search p50 ms |", "|---|---|---:|---:|---:|"]
    for name, row in result["configs"].items():
        for ranker, m in row.get("rankers", {}).items():
            if "error" in m:
                lines.append(f"| {name} | {ranker} | not run: {m['error']} | | |")
            else:
                lines.append(f"| {name} | {ranker} | {m['recall@1']:.4f} | {m['recall@5']:.4f} | {m['search_ms_p50']:.1f} |")
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cmrc", default=str(ROOT.parent / "shared" / "cmrc2018" / "cmrc2018_trial.json"))
    parser.add_argument("--seeds", default=str(ROOT / "eval" / "seeds.jsonl"))
    parser.add_argument("--out", default=str(ROOT / "eval" / "milvus.md"))
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    import milvus_lite
    import pymilvus

    with tempfile.TemporaryDirectory(prefix="qa-milvus-compare-") as folder:
        results = [compare(Path(p), args.limit, Path(folder)) for p in (args.cmrc, args.seeds) if Path(p).is_file()]
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(results, ensure_ascii=False, indent=2), "utf-8")
    lines = [
        "# Local backend against Milvus Lite", "",
        f"`python eval/milvus_compare.py` on {platform.processor() or platform.machine()}, {os.cpu_count()} cores "
        f"shared with other work, pymilvus {pymilvus.__version__}, milvus-lite {milvus_lite.__version__} "
        "(embedded in the asking process). Ask latency is `qa eval`'s: one question retrieved (10 passages) "
        "and answered, index loaded, per question. Raw figures in `eval/milvus.json`.", "",
    ]
    for result in results:
        lines += _table(result)
    out.write_text("\n".join(lines), "utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

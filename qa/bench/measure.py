"""Measuring one corpus size: build, stage throughput, load and questions, HTTP under load.

The build and the question measurements each run in a fresh process
(``qa.bench.worker``), so their peak and resident memory are their own and load
time includes what a first load pays; the parent runs the HTTP clients against a
real ``qa serve`` process. Every figure is wall time unless it says CPU.

Only ``index_probes`` reaches inside the loaded index (its BM25 and FAISS halves
and the query encoder), so it is the one place to adapt when the index changes shape.
"""

from __future__ import annotations

import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from qa.bench.questions import benchmark_questions

RECALL_K = 10
RECALL_QUERIES = 200
HTTP_CLIENTS = (16, 32)
HTTP_REQUESTS = 400  # per run, shared among the clients: bounded, a few seconds at the usual rates


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95 and p99 of values (ms), rounded."""
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    return {f"p{q}": round(float(np.percentile(values, q)), 3) for q in (50, 95, 99)}


def rss_mb() -> dict[str, float]:
    """This process's resident memory now and at its peak, in MB (from /proc)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields.get("VmRSS", 0.0), "peak_rss_mb": fields.get("VmHWM", 0.0)}


def folder_mb(folder: str | Path) -> float:
    """The size on disk of the files under folder, in MB."""
    return round(sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file()) / 2**20, 1)


# ---- run in a worker process ----------------------------------------------------------------------------------


def build(corpus: str, index_dir: str, dense_index: str, progress: bool) -> dict:
    """Build the index of corpus into index_dir: wall and CPU time (its encoding workers' included), peak memory."""
    from qa.building import build_index
    from qa.settings import get_settings

    settings = get_settings().model_copy(update={"dense_index": dense_index})
    started = time.perf_counter()
    manifest = build_index(corpus, index_dir, settings, progress=progress)
    wall = time.perf_counter() - started
    own, cpu = resource.getrusage(resource.RUSAGE_SELF), _cpu_s()
    return {
        "articles": manifest.articles, "chunks": manifest.chunks, "dense_index": manifest.dense_index,
        "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
        "chunks_per_s": round(manifest.chunks / wall, 1), "chunks_per_cpu_s": round(manifest.chunks / cpu, 1),
        # ru_maxrss is in KB on Linux. Not the encoding workers' (RUSAGE_CHILDREN): Linux counts in a child's
        # peak the pages it shared with this process until it exec'd, so theirs would read as this one's.
        "peak_rss_mb": round(own.ru_maxrss / 1024, 1),
        "disk_mb": folder_mb(index_dir),
    }


def _cpu_s() -> float:
    """CPU seconds of this process and of its children that have ended (encoding workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _rate(work: Callable[[], object], items: int) -> dict[str, float]:
    """Items per second (wall) and per CPU-second of one call of work."""
    wall, cpu = time.perf_counter(), _cpu_s()
    work()
    wall, cpu = time.perf_counter() - wall, _cpu_s() - cpu
    return {"per_s": round(items / wall, 1), "per_cpu_s": round(items / max(cpu, 1e-9), 1)}


def stage_rates(corpus: str, sample: int, seed: int = 0) -> dict:
    """Throughput of each build stage alone on a sample of the corpus's chunks (chunks per second).

    The encoder is measured twice: in this process on one thread (how every build encoded before
    the worker processes) and through ``encode`` as a build calls it (worker processes, one per
    core, started and warm, as a build keeps them for all its pieces), on the same texts: the latter
    is the encoder's own throughput the build is compared with.
    """
    from qa.analysis import index_text
    from qa.chunking import chunk_article
    from qa.corpus import load_corpus
    from qa.encoders import UseM3Encoder, available_cores, load_encoder
    from qa.settings import get_settings
    from qa.tokenization import pos_tags, tokenize

    settings = get_settings()
    articles = load_corpus(corpus).articles
    random.Random(seed).shuffle(articles)
    picked, chunks = [], []
    for article in articles:
        if len(chunks) >= sample:
            break
        picked.append(article)
        chunks.extend(chunk_article(article, settings.chunk_max_chars, settings.chunk_min_chars))
    chunks = chunks[:sample]
    titles = {a.id: a.title for a in picked}
    texts = [index_text(titles[c.article_id], c.heading, c.text) for c in chunks]
    tokenize("预热"), pos_tags("预热")  # dictionaries load once, not a stage's cost
    rates = {"sample_chunks": len(chunks), "cores": available_cores()}
    rates["chunking"] = _rate(
        lambda: [chunk_article(a, settings.chunk_max_chars, settings.chunk_min_chars) for a in picked],
        sum(len(chunk_article(a, settings.chunk_max_chars, settings.chunk_min_chars)) for a in picked))
    rates["tokenizing"] = _rate(lambda: [tokenize(t) for t in texts], len(texts))
    rates["tagging"] = _rate(lambda: [pos_tags(c.text) for c in chunks], len(chunks))
    if settings.embed_model == "use-m3":
        one = UseM3Encoder(workers=1)
        one.encode(["预热"])
        rates["encoding_one_process"] = _rate(lambda: one.encode(texts, settings.encode_batch_size), len(texts))
        pooled = UseM3Encoder(parallel_min_texts=0)
        with pooled.session():  # as a build holds its pool: the workers started and warm before timing
            pooled.encode(texts[:200], settings.encode_batch_size)
            rates["encoding"] = _rate(lambda: pooled.encode(texts, settings.encode_batch_size), len(texts))
        # The workers are still running when the timing ends, so their CPU is not this process's to count.
        rates["encoding"]["per_cpu_s"] = None
    else:
        encoder = load_encoder(settings.embed_model)
        rates["encoding"] = _rate(lambda: encoder.encode(texts, settings.encode_batch_size), len(texts))
    return rates


@dataclass
class IndexProbes:
    """The loaded index's parts, timed alone for the floors of a question's cost."""

    sparse_search: Callable[[list[str], int], tuple[np.ndarray, np.ndarray]]
    dense_search: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]]
    encode_query: Callable[[str], np.ndarray]
    stored_vectors: Callable[[], tuple[np.ndarray, np.ndarray]]


def index_probes(engine) -> IndexProbes:
    """The BM25 search, the FAISS search, the query encoder and the stored vectors of an engine's index."""
    index = engine.index
    return IndexProbes(
        sparse_search=index.sparse.search, dense_search=index.dense.search,
        encode_query=index.encoder.encode_query, stored_vectors=lambda: stored_vectors(index.dense),
    )


def stored_vectors(dense) -> tuple[np.ndarray, np.ndarray]:
    """(vectors, ids) held by the dense half of an index, over all its segments (read back, not re-encoded)."""
    held = [part.vectors() for part in dense.parts]
    return np.vstack([v for _, v in held]), np.concatenate([i for i, _ in held]).astype(np.int64)


def recall_at_k(probes: IndexProbes, queries: np.ndarray, k: int = RECALL_K) -> float:
    """Mean share of the exact top-k (flat inner product over the same vectors) that the index's search returns."""
    import faiss

    vectors, ids = probes.stored_vectors()
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(np.ascontiguousarray(vectors, dtype=np.float32))
    _, positions = exact.search(np.ascontiguousarray(queries, dtype=np.float32), k)
    shares = []
    for query, truth in zip(queries, positions):
        _, found = probes.dense_search(query[None, :], k)
        truth = set(ids[truth[truth >= 0]].tolist())
        shares.append(len(truth & set(found.tolist())) / max(1, len(truth)))
    return round(float(np.mean(shares)), 4)


def _ms(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def query(index_dir: str, corpus: str, questions: int, seed: int = 0) -> dict:
    """Load the engine, then ask every question once, each followed by its floors; then recall@10 of FAISS."""
    from qa.engine import Engine
    from qa.settings import get_settings
    from qa.tokenization import tokenize

    settings = get_settings()
    started = time.perf_counter()
    engine = Engine.load(index_dir, settings)
    load_s = time.perf_counter() - started
    loaded = rss_mb()
    first_ms = _ms(engine.warm_up)
    asked = benchmark_questions(corpus, questions, seed)
    probes = index_probes(engine)
    depth = max(settings.candidates, settings.top_k)
    for question in asked[:20]:  # warm caches the way a running server has them
        engine.ask(question)
    times: dict[str, list[float]] = {k: [] for k in ("ask", "retrieve", "answer", "tokenize", "sparse", "dense", "encode")}
    encoded = []
    for question in asked:
        started = time.perf_counter()
        answer = engine.ask(question)
        times["ask"].append((time.perf_counter() - started) * 1000)
        times["retrieve"].append(answer.timings_ms["retrieve"])
        times["answer"].append(answer.timings_ms["answer"])
        tokens: list[str] = []
        times["tokenize"].append(_ms(lambda: tokens.extend(tokenize(question))))
        times["sparse"].append(_ms(lambda: probes.sparse_search(tokens, depth)))
        vector = probes.encode_query(question)
        times["dense"].append(_ms(lambda: probes.dense_search(vector, depth)))
        times["encode"].append(_ms(lambda: probes.encode_query(question)))
        encoded.append(vector[0])
    answered = rss_mb()
    floor = sum(statistics.median(times[k]) for k in ("sparse", "dense", "encode"))
    return {
        "dense_index": engine.index.manifest.dense_index, "questions": len(asked),
        # What FAISS searches: segments' own indexes and merged ones (qa.merged_dense), and what those cover.
        "dense_parts": len(engine.index.dense.parts),
        "merged_dense_segments": [len(m.segments) for m in engine.index.manifest.merged_dense],
        "load_s": round(load_s, 3), "loaded_rss_mb": loaded["rss_mb"], "first_question_ms": round(first_ms, 1),
        "rss_after_questions_mb": answered["rss_mb"],
        "ms": {name: percentiles(values) for name, values in times.items()},
        "floor_ms": round(floor, 3), "ask_over_floor": round(statistics.median(times["ask"]) / floor, 2),
        f"recall_at_{RECALL_K}": recall_at_k(probes, np.vstack(encoded[:RECALL_QUERIES])),
    }


# ---- run in the benchmark's process ---------------------------------------------------------------------------


def run_worker(command: list[str], progress: bool) -> dict:
    """Run ``python -m qa.bench.worker command...`` and return the JSON it prints last; its stderr is shown
    when progress is on (the build's progress bars)."""
    process = subprocess.run(
        [sys.executable, "-m", "qa.bench.worker", *command], stdout=subprocess.PIPE,
        stderr=None if progress else subprocess.PIPE, text=True, env=os.environ.copy(),
    )
    if process.returncode != 0:
        raise RuntimeError(f"qa.bench.worker {' '.join(command)} failed ({process.returncode}): "
                           f"{(process.stderr or '')[-2000:]}")
    return json.loads(process.stdout.strip().splitlines()[-1])


def http(index_dir: str, corpus: str, clients: tuple[int, ...] = HTTP_CLIENTS, requests: int = HTTP_REQUESTS) -> dict:
    """Requests per second and latency of a real `qa serve` on loopback under each number of clients
    (ask and chat requests about the seed articles, HTTP_REQUESTS in all per run), and the server's memory."""
    from qa.loadtest import run_load, running_server
    from qa.settings import default_workers, get_settings

    # The server as it runs by default: one worker per core (eval/workers_bench.py compares worker counts).
    results: dict = {"workers": get_settings().workers or default_workers()}
    with running_server(index_dir, env={"QA_CORPUS_DIR": str(corpus)}) as server:
        run_load(server.url, max(clients), 2, documents=False)  # warm-up: first-use loads, connection pools
        results["server_rss_mb_before"] = round(server.rss_mb(), 1)
        for number in clients:
            honest, _ = run_load(server.url, number, max(1, requests // number), documents=False, seed=number)
            summary = honest.summary()
            results[f"clients_{number}"] = {k: summary[k] for k in
                                            ("requests", "errors", "seconds", "requests_per_second", "p50_ms", "p99_ms")}
            if honest.errors:
                results[f"clients_{number}"]["first_errors"] = honest.errors[:3]
        results["server_rss_mb_after"] = round(server.rss_mb(), 1)
    return results


def _build_and_stages(corpus: str, index_dir: str, dense_index: str, stage_sample: int, seed: int, progress: bool,
                      say: Callable[[str], None]) -> dict:
    say(f"building the index ({dense_index}) in a fresh process")
    started = time.perf_counter()
    build = run_worker(["build", corpus, index_dir, dense_index, "--progress" if progress else "--quiet"], progress)
    build["wall_s_outside"] = round(time.perf_counter() - started, 2)
    say(f"timing each build stage alone on up to {stage_sample} chunks")
    return {"build": build, "stages": run_worker(["stages", corpus, str(stage_sample), str(seed)], progress)}


def measure_size(
    corpus: str, index_dir: str, dense_index: str, questions: int, stage_sample: int, seed: int, progress: bool,
    say: Callable[[str], None], kept: dict | None = None,
) -> dict:
    """Every figure for one corpus: build, stage rates, load and questions, HTTP.

    kept: the entry of an earlier run for this size whose index is still in index_dir; its build and
    stage figures are kept (with when they were measured) and only the questions and HTTP measured again.
    """
    result: dict = {"load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    if kept is not None:
        say("keeping the build and stage figures of the earlier run; its index is measured as it is now")
        result["build"], result["stages"] = kept["build"], kept["stages"]
        result["build_measured_at"] = kept.get("build_measured_at") or kept.get("measured_at", "")
        result["build_load_average_at_start"] = kept.get("build_load_average_at_start", kept["load_average_at_start"])
    else:
        result.update(_build_and_stages(corpus, index_dir, dense_index, stage_sample, seed, progress, say))
    result["measured_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    say(f"loading the engine and asking {questions} questions in a fresh process")
    result["query"] = run_worker(["query", index_dir, corpus, str(questions), str(seed)], progress)
    say(f"HTTP: a real `qa serve`, {' and '.join(map(str, HTTP_CLIENTS))} clients on loopback")
    result["http"] = http(index_dir, corpus)
    return result

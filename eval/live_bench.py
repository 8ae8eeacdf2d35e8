"""Timing the live corpus (issue #11): add, remove and compact on indexes of 1,000 and 100,000 chunks.

For each size, an index is built once from a benchmark corpus of real Chinese text (qa.bench.corpus,
cached under .qa-cache/), copied, and then, in one process as the server does it:

* add: one new article of about 2,000 characters (sentences of the seed articles around an invented
  fact), written as a new generation, switched to (``LiveEngine.refresh``) and asked about: the time
  until its fact is answered, end to end; also ``qa add FILE`` as a command (process start and encoder
  load included);
* remove: the same article removed, switched to, and asked again (its fact no longer answered);
* compaction of the index with those segments and removals into one segment.

It checks that no write touches the files of the other articles' segments. Results go to
bench/live-corpus.md and bench/live-corpus.json.

    python eval/live_bench.py [--sizes 1000,100000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from qa.bench.corpus import synthetic_corpus
from qa.building import build_index
from qa.engine import Engine
from qa.generations import LiveEngine
from qa.intake import IncomingDocument
from qa.settings import Settings
from qa.sparse import SparseIndex
from qa.tokenization import tokenize
from qa.writer import IndexWriter

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".qa-cache" / "live"
OUT = ROOT / "bench"
TOWNS = ["青石镇", "白沙镇", "红岭镇", "金川镇", "云溪镇", "松岗镇", "梅林镇", "竹园镇", "石门镇", "柳河镇"]
THINGS = ["冷链仓库", "风力发电站", "污水处理厂", "社区食堂", "充电站", "图书馆", "公交枢纽", "养老院", "体育馆", "物流园"]


def article(number: int, rng: random.Random) -> tuple[str, str, str]:
    """An invented article of about 2,000 characters: seed sentences around one fact; (text, question, answer)."""
    sentences = [s + "。" for s in (ROOT / "corpus" / "000_5eb15fd4d41f17c5.txt").read_text("utf-8").split("。") if s]
    town, thing, count = TOWNS[number % len(TOWNS)], THINGS[number % len(THINGS)], 101 + 7 * number
    fact = f"{town}今年建成了{count}座{thing}，带动就业三百余人。"
    body = []
    while sum(map(len, body)) < 1900:
        body.append(rng.choice(sentences).strip())
    body.insert(len(body) // 2, fact)
    paragraphs = ["".join(body[i : i + 4]) for i in range(0, len(body), 4)]
    return f"{town}建设简报\n" + "\n".join(paragraphs) + "\n", f"{town}今年建成了多少座{thing}？", str(count)


def segment_stamps(folder: Path, names: set[str]) -> dict[str, tuple[int, int]]:
    """Inode and modification time of the files of the named segments."""
    return {
        str(p.relative_to(folder)): (p.stat().st_ino, p.stat().st_mtime_ns)
        for name in names for p in (folder / "segments" / name).rglob("*") if p.is_file()
    }


def measure(size: int, repeats: int, settings: Settings) -> dict:
    corpus = CACHE / f"corpus-{size}"
    info = synthetic_corpus(size, corpus, settings.shared_dir, 0)
    built = CACHE / f"index-{size}"
    if not (built / "manifest.json").is_file():
        started = time.perf_counter()
        build_index(corpus, built, settings)
        print(f"built {size}: {time.perf_counter() - started:.0f} s", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix=f"live-{size}-", dir=CACHE))
    folder = work / "index"
    shutil.copytree(built, folder)
    live = LiveEngine(Engine.load(folder, settings), settings)
    live.current().warm_up()
    writer = IndexWriter(folder, settings, encoder=live.current().index.encoder)
    base = {s.record.name for s in live.current().index.segments}
    untouched = segment_stamps(folder, base)
    rng = random.Random(size)
    adds, removes, ids = [], [], []
    for number in range(repeats):
        text, question, expected = article(number, rng)
        started = time.perf_counter()
        report = writer.add([IncomingDocument(name=f"live{number}.txt", data=text.encode("utf-8"))])
        live.refresh()
        answer = live.current().ask(question)
        adds.append(time.perf_counter() - started)
        answered = expected in answer.answer and answer.source.article_id == report.outcomes[0].article_id
        assert report.outcomes[0].status == "added" and answered, (answer.answer, expected)
        ids.append((report.outcomes[0].article_id, question, expected))
    for article_id, question, expected in ids:
        started = time.perf_counter()
        writer.remove([article_id])
        live.refresh()
        answer = live.current().ask(question)
        removes.append(time.perf_counter() - started)
        assert answer.abstained or expected not in answer.answer or answer.source.article_id != article_id
    assert segment_stamps(folder, base) == untouched, "no write touched the other articles' segment files"
    bm25 = compare_bm25(live.current(), [q for _, q, _ in ids])
    text, _, _ = article(repeats, rng)
    (work / "cli.txt").write_text(text, encoding="utf-8")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "qa.cli", "add", str(work / "cli.txt"), "--index", str(folder)],
                   check=True, capture_output=True)
    cli_add = time.perf_counter() - started
    started = time.perf_counter()
    compacted = writer.compact()
    compaction = time.perf_counter() - started
    live.refresh()
    chunks = live.current().index.manifest.chunks
    bm25["sparse_search_compacted_ms"] = sparse_latency(live.current(), bm25["questions"])
    shutil.rmtree(work, ignore_errors=True)
    return {
        "size": size, "chunks": info.chunks, "chunks_after": chunks, "repeats": repeats,
        "add_answerable_ms": [round(t * 1000, 1) for t in adds],
        "add_answerable_median_ms": round(statistics.median(adds) * 1000, 1),
        "remove_gone_ms": [round(t * 1000, 1) for t in removes],
        "remove_gone_median_ms": round(statistics.median(removes) * 1000, 1),
        "cli_add_ms": round(cli_add * 1000, 1),
        "compaction_ms": round(compaction * 1000, 1), "compaction_report_s": compacted.seconds,
        "bm25": {k: v for k, v in bm25.items() if k != "questions"},
    }


def seed_questions() -> list[str]:
    return [json.loads(line)["question"] for line in (ROOT / "eval" / "seeds.jsonl").read_text("utf-8").splitlines()
            if line.strip()]


def sparse_latency(engine: Engine, questions: list[str]) -> float:
    """Median time of the sparse search alone, in ms."""
    tokens = [tokenize(q) for q in questions]
    times = []
    for some in tokens:
        started = time.perf_counter()
        engine.index.sparse.search(some, 30)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) * 1000, 2)


def compare_bm25(engine: Engine, extra_questions: list[str]) -> dict:
    """The segmented BM25 (IDF of the whole index, each segment's length normalisation) against one bm25s
    index of every live chunk, as a full re-index after each write would give: top-10 overlap, the time
    that re-index takes, and search latency with the segments as they are."""
    store = engine.index.store
    ids, tokens = [], []
    for chunks, _, chunk_tokens in store.rows():
        ids += [c.id for c in chunks]
        tokens += chunk_tokens
    started = time.perf_counter()
    single = SparseIndex.build(tokens, np.array(ids, dtype=np.int64))
    rebuild = time.perf_counter() - started
    questions = seed_questions() + extra_questions
    overlaps, top1 = [], []
    for question in questions:
        query = tokenize(question)
        _, segmented = engine.index.sparse.search(query, 10)
        _, whole = single.search(query, 10)
        if len(whole):
            overlaps.append(len(set(segmented.tolist()) & set(whole.tolist())) / len(whole))
            top1.append(float(len(segmented) > 0 and segmented[0] == whole[0]))
    return {
        "questions": questions, "segments": len(engine.index.segments),
        "overlap_at_10": round(statistics.mean(overlaps), 4), "same_top1": round(statistics.mean(top1), 4),
        "full_bm25s_reindex_s": round(rebuild, 2), "sparse_search_segmented_ms": sparse_latency(engine, questions),
    }


def write(results: list[dict]) -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / "live-corpus.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", "utf-8")
    lines = [
        "# Live corpus: add, remove and compact in place",
        "",
        "Generated by `python eval/live_bench.py`. One article of about 2,000 characters added to an index of the",
        "given size (benchmark corpus of real Chinese text, `qa.bench.corpus`), in the process that serves it: written",
        "as a new generation, switched to, and its fact asked about, until answered (median of the repeats); then",
        "removed, switched to, and asked again, until no longer answered. `qa add` as a command includes starting",
        "Python and loading the encoder. Compaction merges all segments (the base, the additions, the removals) into",
        "one. No write touched the files of the other articles' segments (checked by inode and modification time).",
        "",
        "| index chunks | add → answerable (median) | remove → gone (median) | `qa add FILE` command | compaction |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['chunks']:,} | {r['add_answerable_median_ms']:.0f} ms | {r['remove_gone_median_ms']:.0f} ms "
            f"| {r['cli_add_ms'] / 1000:.1f} s | {r['compaction_ms'] / 1000:.1f} s |"
        )
    lines += [
        "",
        "BM25 across segments (after the additions and removals, before compaction), against one bm25s index of",
        "every live chunk, which is what re-indexing BM25 after each write would give; seed questions and the added",
        "articles' questions:",
        "",
        "| index chunks | segments | top-10 overlap | same top hit | full bm25s re-index (per write, the alternative) "
        "| sparse search p50, segmented → compacted |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        b = r["bm25"]
        lines.append(
            f"| {r['chunks']:,} | {b['segments']} | {b['overlap_at_10']:.3f} | {b['same_top1']:.3f} "
            f"| {b['full_bm25s_reindex_s']:.2f} s | {b['sparse_search_segmented_ms']} → {b['sparse_search_compacted_ms']} ms |"
        )
    (OUT / "live-corpus.md").write_text("\n".join(lines) + "\n", "utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    settings = Settings()
    results = [measure(int(size), args.repeats, settings) for size in args.sizes.split(",")]
    write(results)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

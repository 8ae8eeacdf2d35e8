"""One benchmark run: for each size, make (or reuse) the corpus, measure it, and write the report."""

from __future__ import annotations

import os
import platform
import shlex
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from qa.bench.corpus import synthetic_corpus
from qa.bench.measure import measure_size
from qa.bench.report import analyse, write_report
from qa.dense import resolve_kind

DEFAULT_SIZES = (10_000, 100_000)


def machine() -> dict:
    """The processor, cores and memory of this machine, for the record."""
    cpu = platform.processor() or "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                    if line.startswith("model name")), cpu)
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(memory_gb, 1), "python": platform.python_version()}


def run_bench(
    sizes: list[int], report_dir: str | Path | None, shared_dir: str | Path, cache_dir: str | Path = ".qa-cache/bench",
    dense_index: str = "auto", questions: int = 300, stage_sample: int = 2000, seed: int = 0, progress: bool = True,
    say: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True),
) -> dict:
    """Measure every size in turn; the results, also written (RESULTS.md, results.json, plots) to report_dir."""
    from qa.settings import get_settings

    cache_dir = Path(cache_dir).resolve()
    settings = get_settings()
    results = {
        "command": "qa bench " + shlex.join(sys.argv[2:]) if sys.argv[1:2] == ["bench"] else "qa bench",
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {"embed_model": settings.embed_model, "dense_index": dense_index, "fusion": settings.fusion,
                     "top_k": settings.top_k, "candidates": settings.candidates, "seed": seed},
        "sizes": [],
    }
    for size in sizes:
        started = time.perf_counter()
        say(f"[{size:,} chunks] corpus: seed articles, People's Daily articles, recombined sentences beyond them")
        corpus = synthetic_corpus(size, cache_dir / f"corpus-{size}-seed{seed}", shared_dir, seed,
                                  settings.chunk_max_chars, settings.chunk_min_chars)
        kind = resolve_kind(dense_index, corpus.chunks)
        index_dir = cache_dir / f"index-{size}-seed{seed}-{kind}"

        def tell(message: str, size: int = size) -> None:
            say(f"[{size:,} chunks] {message}")

        measured = measure_size(str(corpus.folder), str(index_dir), kind, questions, stage_sample, seed, progress, tell)
        entry = {"size": size, "corpus": {k: v for k, v in vars(corpus).items() if k != "folder"}, **measured,
                 "seconds": round(time.perf_counter() - started, 1)}
        entry["analysis"] = analyse(entry)
        results["sizes"].append(entry)
        tell(f"done in {entry['seconds']:.0f} s")
        if report_dir is not None:
            write_report(results, report_dir)  # after each size, so a long run leaves what it measured so far
    return results

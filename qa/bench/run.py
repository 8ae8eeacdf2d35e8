"""One benchmark run: for each size, make (or reuse) the corpus, measure it, and write the report."""

from __future__ import annotations

import json
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
from qa.manifest import MANIFEST_FILE
from qa.settings import reads_in_parallel

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


def _earlier_results(report_dir: str | Path | None) -> dict:
    """report_dir/results.json as an earlier run left it (read before this run writes it again)."""
    path = Path(report_dir or ".") / "results.json"
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        raise SystemExit(f"--keep-build: no earlier results in {path}; run without it first") from None


def _earlier_entry(earlier: dict, report_dir: str | Path | None, size: int, seed: int) -> dict:
    """The entry for this size and seed in the earlier results, or a clear error when there is none."""
    path = Path(report_dir or ".") / "results.json"
    entries = [e for e in earlier.get("sizes", []) if e["size"] == size and earlier["settings"].get("seed", 0) == seed]
    if not entries:
        raise SystemExit(f"--keep-build: no earlier build of {size:,} chunks (seed {seed}) in {path}; "
                         "run without --keep-build")
    entry = entries[-1]
    entry.setdefault("build_measured_at", earlier["started_at"])
    return entry


def run_bench(
    sizes: list[int], report_dir: str | Path | None, shared_dir: str | Path, cache_dir: str | Path = ".qa-cache/bench",
    dense_index: str = "auto", questions: int = 300, stage_sample: int = 2000, seed: int = 0, progress: bool = True,
    say: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True), keep_build: bool = False,
) -> dict:
    """Measure every size in turn; the results, also written (RESULTS.md, results.json, plots) to report_dir.

    keep_build: measure the questions and HTTP again on the indexes an earlier run left in cache_dir,
    keeping that run's build and stage figures from report_dir/results.json (after a change that does not
    touch the build, or one applied to the index since, such as `qa compact`; a build of a million chunks
    takes hours)."""
    from qa.settings import get_settings

    cache_dir = Path(cache_dir).resolve()
    settings = get_settings()
    results = {
        "command": "qa bench " + shlex.join(sys.argv[2:]) if sys.argv[1:2] == ["bench"] else "qa bench",
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "settings": {"embed_model": settings.embed_model, "dense_index": dense_index, "fusion": settings.fusion,
                     "top_k": settings.top_k, "candidates": settings.candidates, "seed": seed,
                     "parallel_retrieval": settings.parallel_retrieval, "parallel_reading": reads_in_parallel(settings)},
        "sizes": [],
    }
    earlier = _earlier_results(report_dir) if keep_build else {}
    for size in sizes:
        started = time.perf_counter()
        kept = _earlier_entry(earlier, report_dir, size, seed) if keep_build else None
        say(f"[{size:,} chunks] corpus: seed articles, People's Daily articles, recombined sentences beyond them")
        corpus = synthetic_corpus(size, cache_dir / f"corpus-{size}-seed{seed}", shared_dir, seed,
                                  settings.chunk_max_chars, settings.chunk_min_chars)
        kind = resolve_kind(dense_index, corpus.chunks)
        index_dir = cache_dir / f"index-{size}-seed{seed}-{kind}"

        def tell(message: str, size: int = size) -> None:
            say(f"[{size:,} chunks] {message}")

        if kept is not None and not (index_dir / MANIFEST_FILE).is_file():
            raise SystemExit(f"--keep-build: the index of the earlier run is no longer in {index_dir}")
        measured = measure_size(str(corpus.folder), str(index_dir), kind, questions, stage_sample, seed, progress, tell,
                                kept)
        entry = {"size": size, "corpus": {k: v for k, v in vars(corpus).items() if k != "folder"}, **measured,
                 "seconds": round(time.perf_counter() - started, 1)}
        entry["analysis"] = analyse(entry)
        results["sizes"].append(entry)
        tell(f"done in {entry['seconds']:.0f} s")
        if report_dir is not None:
            write_report(results, report_dir)  # after each size, so a long run leaves what it measured so far
    return results

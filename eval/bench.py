"""Latency benchmark: time per question with the index loaded, split into retrieval and answer steps.

    python eval/bench.py [eval/seeds.jsonl] [--rounds 5] [--index index/]

Every question is asked `rounds` times (after a warm-up round) through ``Engine.ask``;
the median and p95 over all asks are printed as Markdown, with the machine's CPU.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from qa.engine import Engine
from qa.settings import get_settings


def cpu_name() -> str:
    """The processor's model name, for the record."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def benchmark(engine: Engine, questions: list[str], rounds: int = 5) -> str:
    """Time every question `rounds` times after a warm-up round; a Markdown table of the results."""
    for question in questions:  # warm-up: first-call loading of the encoder and jieba
        engine.ask(question)
    total, retrieve, answer = [], [], []
    for _ in range(rounds):
        for question in questions:
            started = time.perf_counter()
            result = engine.ask(question)
            total.append((time.perf_counter() - started) * 1000)
            retrieve.append(result.timings_ms["retrieve"])
            answer.append(result.timings_ms["answer"])
    lines = [f"{len(questions)} questions × {rounds} rounds on {cpu_name()} ({engine.index.manifest.chunks} chunks)", "",
             "| step | median ms | p95 ms |", "|---|---:|---:|"]
    for name, values in (("qa ask (retrieve + answer)", total), ("retrieve", retrieve), ("answer", answer)):
        lines.append(f"| {name} | {statistics.median(values):.2f} | {np.percentile(values, 95):.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", default="eval/seeds.jsonl")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--index", default=None)
    args = parser.parse_args()
    settings = get_settings()
    engine = Engine.load(args.index or settings.index_dir, settings, build_if_missing=True)
    questions = [json.loads(line)["question"] for line in Path(args.path).read_text("utf-8").splitlines() if line.strip()]
    print(benchmark(engine, questions, args.rounds))


if __name__ == "__main__":
    main()

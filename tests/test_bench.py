"""Smoke test of `qa bench`: one small corpus (1,000 chunks, real People's Daily sentences) built, asked and
served for real; the report holds every stage with sane figures. Speed targets are the benchmark's business."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.settings import Settings

SHARED = Settings(_env_file=None).shared_dir


@pytest.mark.skipif(not (SHARED / "corpora" / "peoples_daily_2023_jul_oct.jsonl").is_file(),
                    reason="the People's Daily corpus is not in ../shared/corpora/")
def test_qa_bench_at_1000_chunks_reports_every_stage_with_sane_figures(tmp_path):
    report = tmp_path / "report"
    run = subprocess.run(
        [sys.executable, "-m", "qa.cli", "bench", "--sizes", "1000", "--json", "--dense-index", "hnsw",
         "--report", str(report), "--cache", str(tmp_path / "cache"), "--questions", "120", "--stage-sample", "300"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout)
    [size] = results["sizes"]
    build, stages, query, http = size["build"], size["stages"], size["query"], size["http"]

    assert abs(build["chunks"] - 1000) <= 50 and build["dense_index"] == "hnsw"
    assert size["corpus"]["seed_articles"] == 2 and size["corpus"]["pd_articles"] > 0
    assert build["chunks_per_s"] > 0 and build["cpu_s"] > 0 and build["peak_rss_mb"] > 100 and build["disk_mb"] > 0
    for stage in ("chunking", "tokenizing", "tagging", "encoding_one_process", "encoding"):
        assert stages[stage]["per_s"] > 0, stage
        # The encoding workers outlive their timing, so their CPU is not counted (None).
        assert stages[stage]["per_cpu_s"] is None if stage == "encoding" else stages[stage]["per_cpu_s"] > 0, stage
    assert query["questions"] == 120 and query["load_s"] > 0 and query["loaded_rss_mb"] > 0
    for stage in ("ask", "retrieve", "answer", "tokenize", "sparse", "dense", "encode"):
        times = query["ms"][stage]
        assert 0 < times["p50"] <= times["p95"] <= times["p99"], stage
    assert query["ask_over_floor"] > 1  # a full question costs more than its parts searched bare
    assert 0 <= query["recall_at_10"] <= 1
    for clients in (16, 32):
        figures = http[f"clients_{clients}"]
        assert figures["errors"] == 0 and figures["requests"] > 0 and figures["requests_per_second"] > 0
        assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert size["analysis"]["build_dominant"] and size["analysis"]["ask_dominant"]

    assert json.loads((report / "results.json").read_text("utf-8"))["sizes"][0]["build"] == build
    text = (report / "RESULTS.md").read_text("utf-8")
    assert "## Build" in text and "## HTTP on loopback" in text and "## What dominates" in text
    assert (report / "latency.png").stat().st_size > 0 and (report / "memory.png").stat().st_size > 0

    # Measured again on the index left in the cache: the build's figures kept, with when they were taken.
    again = subprocess.run(
        [sys.executable, "-m", "qa.cli", "bench", "--sizes", "1000", "--json", "--dense-index", "hnsw", "--keep-build",
         "--report", str(report), "--cache", str(tmp_path / "cache"), "--questions", "30", "--stage-sample", "300"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert again.returncode == 0, again.stderr[-3000:]
    [kept] = json.loads(again.stdout)["sizes"]
    assert kept["build"] == build and kept["stages"] == stages and kept["build_measured_at"] == results["started_at"]
    assert kept["query"]["questions"] == 30 and kept["query"]["dense_parts"] == 1
    assert "kept with `--keep-build`" in (report / "RESULTS.md").read_text("utf-8")
    missing = subprocess.run(
        [sys.executable, "-m", "qa.cli", "bench", "--sizes", "2000", "--keep-build", "--report", str(report),
         "--cache", str(tmp_path / "cache")],
        capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )
    assert missing.returncode != 0 and "no earlier build of 2,000 chunks" in missing.stderr

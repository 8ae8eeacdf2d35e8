"""qa.page_cache: files read whole within a budget, or not at all; the engine reads its index's files at warm-up."""

from __future__ import annotations

import io
import logging
import re

from qa.engine import Engine
from qa.page_cache import BLOCK, read_into_page_cache, read_span


def test_read_span_reads_what_is_asked_and_stops_at_the_end():
    data = bytes(range(256)) * 100
    assert read_span(io.BytesIO(data), 100, 5000) == 5000
    assert read_span(io.BytesIO(data), len(data) - 10, 5000) == 10  # fewer at the end of the file
    assert read_span(io.BytesIO(data), 0, 0) == 0
    large = io.BytesIO(b"x" * (BLOCK + 3))  # more than one block
    assert read_span(large, 1, BLOCK + 2) == BLOCK + 2


def test_files_are_read_whole_when_they_fit_the_budget_and_not_at_all_otherwise(tmp_path):
    small, large = tmp_path / "small", tmp_path / "large"
    small.write_bytes(b"a" * 1000)
    large.write_bytes(b"b" * 5000)
    assert read_into_page_cache([small, large], 6000) == 6000
    assert read_into_page_cache([small, large], 5999) == 0  # all or none: no part of a set too large
    assert read_into_page_cache([small, tmp_path / "gone"], 1000) == 1000  # a file that has gone is skipped
    assert read_into_page_cache([small], 0) == 0


def test_the_local_index_lists_its_manifest_s_files(engine):
    files = engine.index.local_files()
    assert {str(path.relative_to(engine.index.folder)) for path in files} == set(engine.index.manifest.files)
    assert all(path.is_file() for path in files)


def _read_at_warm_up(engine: Engine, caplog) -> float:
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="qa.engine"):
        engine.warm_up()
    said = [r.getMessage() for r in caplog.records if "page cache" in r.getMessage()]
    assert len(said) == 1
    return float(re.search(r"read ([\d.]+) MB", said[0]).group(1))


def test_warm_up_reads_the_index_files_within_the_budget(engine, settings, caplog):
    total = sum(path.stat().st_size for path in engine.index.local_files())
    assert _read_at_warm_up(engine, caplog) == round(total / 2**20, 1) > 0
    off = Engine(engine.index, settings.model_copy(update={"page_cache_mb": 0}), reuse=engine)
    assert _read_at_warm_up(off, caplog) == 0

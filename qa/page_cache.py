"""Reading files into the operating system's page cache ahead of the reads that need them.

Questions read an index at scattered places: a few rows of the chunk store, the vectors an HNSW
search visits, BM25's arrays. When those pages are not in the page cache (after a restart, or after
other work pushed them out), each is a small read from disk in the middle of a question. Over the
`qa bench` questions at 100,006 chunks, `Engine.ask` p50 / p95 / p99 was 13.6–13.9 / 22 / 96–160 ms
with the page cache dropped, and 12.3–12.5 / 15 / 17 ms after the index's files had been read once
(eval/ABLATIONS.md). Reading a file start to end in large blocks costs a fraction of that: the disk
reads ahead, and the bytes are copied once and dropped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

BLOCK = 8 << 20


def read_span(file: BinaryIO, start: int, length: int) -> int:
    """Read length bytes of an open file from start in large blocks, keeping none; returns the bytes read
    (fewer at the end of the file)."""
    file.seek(start)
    buffer = memoryview(bytearray(min(BLOCK, max(length, 0))))
    read = 0
    while read < length:
        got = file.readinto(buffer[: min(BLOCK, length - read)])
        if not got:
            break
        read += got
    return read


def read_into_page_cache(paths: Iterable[str | Path], budget_bytes: int) -> int:
    """Read the files whole, one after the other, when together they are at most budget_bytes, else none;
    returns the bytes read (files that have gone are skipped).

    Why all or none: the budget stands for the memory the system can keep for the page cache. A set of
    files larger than that, read in part, would push out of the cache pages that questions had already
    brought in (a million-chunk index is 8.7 GB where this machine keeps 4–5 GB of file pages)."""
    sizes = []
    for path in paths:
        try:
            sizes.append((path, os.stat(path).st_size))
        except FileNotFoundError:
            continue
    if sum(size for _, size in sizes) > budget_bytes:
        return 0
    read = 0
    for path, size in sizes:
        try:
            with open(path, "rb", buffering=0) as file:
                read += read_span(file, 0, size)
        except FileNotFoundError:
            continue
    return read

"""One process-wide thread pool for the parts of a question that can run beside its main thread.

The main thread of a question spends most of its time where Python's GIL is released
(encoding the question with the encoder's matrices, searching FAISS, reading with ONNX
Runtime); BM25 search and the reader's analysis of the question (jieba's tags) do not
need those results, and run in this pool meanwhile (QA_PARALLEL_RETRIEVAL). One thread
per core, so questions asked at once do not queue behind one another's.

Work is handed to the pool only while the other core is likely idle: ``Occupancy`` tells a
caller whether it is the only one in a block (no other question being answered or read).

Made on first use, and again in a forked child: threads do not survive a fork, and a pool
inherited with its threads would never answer.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _forget_pool() -> None:
    global _pool, _pool_lock
    _pool, _pool_lock = None, threading.Lock()


os.register_at_fork(after_in_child=_forget_pool)


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="beside")
        return _pool


def beside(work: Callable[..., T], *arguments) -> Future[T]:
    """Start work(*arguments) in the shared pool; its result is the future's."""
    return _shared_pool().submit(work, *arguments)


class Occupancy:
    """Counts the threads inside a block and tells each whether it came in alone.

    Why: work handed to the pool runs on the other core only while that core is idle. When other
    questions are being answered at the time (a server under load) the cores are busy with them,
    and the hand-off only adds waiting; so callers hand work off only when they are alone."""

    def __init__(self):
        self._inside = 0
        self._lock = threading.Lock()

    @contextmanager
    def entered(self) -> Iterator[bool]:
        """Counts the caller for as long as the block runs; yields whether no other thread is inside."""
        with self._lock:
            self._inside += 1
            alone = self._inside == 1
        try:
            yield alone
        finally:
            with self._lock:
                self._inside -= 1

"""One process-wide thread pool for the parts of a question that can run beside its main thread.

The main thread of a question spends most of its time where Python's GIL is released
(encoding the question with the encoder's matrices, searching FAISS, reading with ONNX
Runtime); BM25 search and the reader's analysis of the question (jieba's tags) do not
need those results, and run in this pool meanwhile (QA_PARALLEL_RETRIEVAL). One thread
per core, so questions asked at once do not queue behind one another's.

Made on first use, and again in a forked child: threads do not survive a fork, and a pool
inherited with its threads would never answer.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
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

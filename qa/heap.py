"""Keeping Python's cycle collector off a loaded index: ``settle`` freezes what is alive once loading is done.

A loaded engine holds about 200,000 objects the collector tracks (jieba's dictionary,
the vocabularies, the segments' tables), none of which ever becomes garbage. Every full
(oldest-generation) collection walks all of them: 11–68 ms each, four in 300 `qa bench`
questions at 100,006 chunks, which made the slowest questions. ``gc.freeze`` moves every
object alive into a permanent generation that collections skip; the objects are still
freed by reference counting when dropped. Same process, same 300 questions (qa bench's
question stage): `ask` p50 / p95 / p99 14.4 / 25.1 / 47.9 ms → 12.9 / 16.2 / 17.4, and no
full collection during the questions.

Frozen objects in a reference cycle are not collected, so ``settle`` unfreezes first: a
generation of the index dropped since the last call (qa.generations) is collected then.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect what is garbage now, then leave every object alive out of future collections (about 50 ms
    with an index of 100,000 chunks loaded). Call it when loading is done: at start-up and after a swap."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()

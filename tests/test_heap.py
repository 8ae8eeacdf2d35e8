"""qa.heap.settle: what is alive leaves the collector's full collections, and cycles dropped since the
last settle are still collected."""

from __future__ import annotations

import gc
import weakref

from qa.heap import settle


class _Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the cycle collector frees it


def test_settle_freezes_what_is_alive():
    kept = _Node()
    settle()
    assert gc.get_freeze_count() > 0
    assert gc.is_tracked(kept) and all(o is not kept for o in gc.get_objects())  # in no generation collected
    before = gc.get_freeze_count()
    gc.collect()
    assert gc.get_freeze_count() == before  # a full collection leaves frozen objects where they are


def test_a_cycle_frozen_then_dropped_is_collected_by_the_next_settle():
    node = _Node()
    alive = weakref.ref(node)
    settle()  # the cycle is frozen now
    del node
    gc.collect()
    assert alive() is not None  # frozen: a collection does not see it
    settle()
    assert alive() is None


def test_warming_up_an_engine_settles_it(engine):
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    engine.warm_up()
    assert gc.get_freeze_count() > 0

"""Index generations in-process: a loaded engine keeps its own index when the folder is rebuilt under it,
and LiveEngine switches to the rebuilt one whole."""

from __future__ import annotations

import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from qa.building import build_index
from qa.engine import Engine
from qa.generations import LiveEngine

INTERVIEWS = "000_5eb15fd4d41f17c5.txt"
SIGNED = "株洲截至4月底签约了多少个项目？"


@pytest.fixture(scope="module")
def other_corpus(tmp_path_factory, settings):
    """The seed corpus with Zhuzhou's 73 signed projects made 88."""
    corpus = tmp_path_factory.mktemp("other") / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    text = (corpus / INTERVIEWS).read_text("utf-8")
    (corpus / INTERVIEWS).write_text(text.replace("73个", "88个"), encoding="utf-8")
    return corpus


def _in_a_new_thread(function):
    with ThreadPoolExecutor(max_workers=1) as pool:  # a thread that has never touched the index
        return pool.submit(function).result()


def test_a_loaded_engine_keeps_answering_from_its_own_index_after_a_rebuild(seed_index, other_corpus, settings, tmp_path):
    folder = tmp_path / "index"
    shutil.copytree(seed_index, folder)
    engine = Engine.load(folder, settings)
    before = engine.ask(SIGNED)
    build_index(other_corpus, folder, settings, progress=False)
    after = _in_a_new_thread(lambda: engine.ask(SIGNED))
    assert before.answer == after.answer == "73个"
    assert [p.text for p in after.passages] == [p.text for p in before.passages]
    assert Engine.load(folder, settings).ask(SIGNED).answer == "88个"


def test_live_engine_switches_to_a_rebuilt_index_and_reports_a_missing_one(seed_index, other_corpus, settings, tmp_path):
    folder = tmp_path / "index"
    shutil.copytree(seed_index, folder)
    live = LiveEngine(Engine.load(folder, settings), settings.model_copy(update={"index_check_seconds": 0}))
    old = live.current()
    rebuilt = build_index(other_corpus, folder, settings, progress=False).generation
    new = _poll(live, lambda: live.current().index.manifest.generation == rebuilt)
    assert new is not old and new.ask(SIGNED).answer == "88个"
    assert old.ask(SIGNED).answer == "73个", "a request that took the old engine finishes on it"
    assert live.status().status == "ok"

    shutil.rmtree(folder)
    _poll(live, lambda: live.status().status == "degraded")
    assert "gone" in live.status().reason and live.current() is new


def _poll(live: LiveEngine, condition, seconds: float = 120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return live.current()
        time.sleep(0.05)
    raise AssertionError("the live engine did not follow its folder")

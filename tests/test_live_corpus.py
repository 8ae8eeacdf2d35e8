"""The live corpus across processes: a real `qa add/remove/compact/index` killed (SIGKILL) at each step
of writing a generation leaves an index that loads with the old or the new content; a real server keeps
answering 16 clients, none failed and none mixing two generations, while 50 articles are added and
removed through it; and a server follows an addition made by the command line."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from qa.index import HybridIndex
from qa.intake import read_paths
from qa.writer import IndexWriter

SEED_QUESTION = "株洲截至4月底签约了多少个项目？"
TOWN = "青石镇新闻\n青石镇今年新建了四十七座风力发电站，总投资约十二亿元。\n"
KEY = "live-key-5d0e"

# Runs a qa command in a process that kills itself (SIGKILL: no cleanup, no finally) at one step of the write.
KILLER = r"""
import os, signal, sys
import qa.building, qa.commit, qa.deletions, qa.manifest

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

def then_die(function):
    def wrapper(*args, **kwargs):
        function(*args, **kwargs)
        die()
    return wrapper

point = sys.argv[1]
if point == "segment-written":
    qa.commit.write_segment = then_die(qa.commit.write_segment)
    qa.building.write_segment = then_die(qa.building.write_segment)  # a full build writes its segments there
elif point == "deletions-written":
    qa.deletions.Deletions.save = then_die(qa.deletions.Deletions.save)
elif point == "manifest-written":
    qa.manifest.Manifest.save = then_die(qa.manifest.Manifest.save)
elif point == "before-switch":
    qa.commit.swap_into_place = die
elif point == "after-switch":
    qa.commit.swap_into_place = then_die(qa.commit.swap_into_place)
from qa.cli import main
sys.exit(main(sys.argv[2:]))
"""

POINTS = ["segment-written", "deletions-written", "manifest-written", "before-switch", "after-switch"]


def _content(folder) -> tuple:
    """What an index holds, loaded with every file verified: its article ids and chunk count."""
    index = HybridIndex.load(folder)
    return tuple(sorted(a.id for a in index.store.articles())), index.manifest.chunks


def _killed(point: str, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", KILLER, point, *command], capture_output=True, text=True, timeout=120)


@pytest.fixture
def town_file(tmp_path):
    path = tmp_path / "qingshi.txt"
    path.write_text(TOWN, encoding="utf-8")
    return path


def _write_again(folder, settings, engine):
    """A writer after the crash gets the lock, cleans what the killed one left, and commits."""
    writer = IndexWriter(folder, settings, encoder=engine.index.encoder)
    assert writer.remove(["000_5eb15fd4d41f17c5"]).outcomes[0].status == "removed"
    assert not [p for p in folder.parent.iterdir() if p.is_dir() and p.name.startswith(f".{folder.name}.")]


@pytest.mark.parametrize("point", POINTS)
def test_a_killed_add_leaves_the_old_or_the_new_index(index_copy, town_file, point, settings, engine):
    old = _content(index_copy)
    result = _killed(point, "add", str(town_file), "--index", str(index_copy))
    assert result.returncode == -signal.SIGKILL, result.stderr
    after = _content(index_copy)
    new = (tuple(sorted([*old[0], "qingshi"])), old[1] + 1)
    assert after == (new if point == "after-switch" else old)
    _write_again(index_copy, settings, engine)


@pytest.mark.parametrize("point", ["deletions-written", "manifest-written", "before-switch", "after-switch"])
def test_a_killed_remove_leaves_the_old_or_the_new_index(index_copy, point, settings, engine):
    old = _content(index_copy)
    result = _killed(point, "remove", "004_302674c14a7d71f0", "--index", str(index_copy))
    assert result.returncode == -signal.SIGKILL, result.stderr
    after = _content(index_copy)
    assert after[0] == (("000_5eb15fd4d41f17c5",) if point == "after-switch" else old[0])
    _write_again(index_copy, settings, engine)


@pytest.mark.parametrize("point", ["segment-written", "manifest-written", "before-switch", "after-switch"])
def test_a_killed_compaction_leaves_the_old_or_the_new_index(index_copy, town_file, point, settings, engine):
    writer = IndexWriter(index_copy, settings, encoder=engine.index.encoder)
    writer.add(read_paths([town_file]))
    writer.remove(["004_302674c14a7d71f0"])
    old = _content(index_copy)
    result = _killed(point, "compact", "--index", str(index_copy))
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert _content(index_copy) == old, "compaction changes the files, never the content"
    segments = len(HybridIndex.load(index_copy).segments)
    assert segments == (1 if point == "after-switch" else 2)
    _write_again(index_copy, settings, engine)


@pytest.mark.parametrize("point", ["segment-written", "before-switch", "after-switch"])
def test_a_killed_full_build_leaves_the_old_or_the_new_index(index_copy, tmp_path, point, settings, engine):
    corpus = tmp_path / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    (corpus / "004_302674c14a7d71f0.txt").unlink()
    old = _content(index_copy)
    result = _killed(point, "index", str(corpus), "--out", str(index_copy))
    assert result.returncode == -signal.SIGKILL, result.stderr
    after = _content(index_copy)
    assert after[0] == (("000_5eb15fd4d41f17c5",) if point == "after-switch" else old[0])
    again = subprocess.run([sys.executable, "-m", "qa.cli", "index", str(corpus), "--out", str(index_copy)],
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert _content(index_copy)[0] == ("000_5eb15fd4d41f17c5",), "the build run again finishes what was killed"
    assert not (index_copy.parent / f".{index_copy.name}.partial").exists()


def test_a_killed_add_during_encoding_leaves_the_old_index(index_copy, tmp_path, settings, engine):
    folder = tmp_path / "many"
    folder.mkdir()
    sentences = [s for s in settings.corpus_dir.joinpath("000_5eb15fd4d41f17c5.txt").read_text("utf-8").split("。") if s]
    shuffle = random.Random(7)
    for number in range(60):  # articles made of shuffled seed sentences: a few seconds of encoding
        shuffle.shuffle(sentences)
        (folder / f"a{number}.txt").write_text(f"第{number}篇\n" + "。".join(sentences) + "。", encoding="utf-8")
    old = _content(index_copy)
    process = subprocess.Popen([sys.executable, "-m", "qa.cli", "add", str(folder), "--index", str(index_copy)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(4)
    assert process.poll() is None, "still working when killed"
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert _content(index_copy) == old
    _write_again(index_copy, settings, engine)


TOWNS = ["青石镇", "白沙镇", "红岭镇", "金川镇", "云溪镇", "松岗镇", "梅林镇", "竹园镇", "石门镇", "柳河镇"]


def _town_text(number: int) -> str:
    town = TOWNS[number]
    return f"{town}建设简报\n{town}今年建成了{101 + 7 * number}座冷链仓库，带动就业{300 + number}人。\n"


def test_sixteen_clients_never_fail_nor_mix_generations_during_fifty_writes(serve_index, index_copy):
    """Writes are additions and removals, with a compaction after every tenth (compaction by itself is
    off, so that every generation served is one whose content the test knows)."""
    with serve_index(index_copy, QA_API_KEY=KEY, QA_COMPACT_SEGMENTS="1000", QA_COMPACT_REMOVED_SHARE="1") as (_, url):
        first = httpx.get(url + "/api/health").json()["generation"]
        live = {first: set()}  # generation -> towns live in it
        seen, failures, stop = [], [], threading.Event()

        def ask(client_number: int) -> None:
            pick = random.Random(client_number)
            with httpx.Client(base_url=url, timeout=30) as client:
                while not stop.is_set():
                    town = pick.randrange(len(TOWNS))
                    question = SEED_QUESTION if pick.random() < 0.3 else f"{TOWNS[town]}今年建成了多少座冷链仓库？"
                    try:
                        reply = client.post("/api/ask", json={"question": question})
                    except httpx.HTTPError as error:
                        failures.append(repr(error))
                        continue
                    if reply.status_code != 200:
                        failures.append(f"{reply.status_code} {reply.text[:200]}")
                        continue
                    seen.append((question, reply.headers["x-index-generation"], reply.json()))

        clients = [threading.Thread(target=ask, args=(n,)) for n in range(16)]
        for thread in clients:
            thread.start()
        towns, order = set(), random.Random(3)
        with httpx.Client(base_url=url, timeout=60, headers={"X-API-Key": KEY}) as writer:
            for write in range(50):
                number = order.randrange(len(TOWNS))
                if number in towns:
                    reply = writer.delete(f"/api/documents/town{number}")
                    towns.discard(number)
                else:
                    files = [("files", (f"town{number}.txt", _town_text(number).encode("utf-8"), "text/plain"))]
                    reply = writer.post("/api/documents", files=files)
                    towns.add(number)
                assert reply.status_code == 200, reply.text
                live[reply.json()["generation"]] = set(towns)
                if write % 10 == 9:
                    compacted = writer.post("/api/index/compact")
                    assert compacted.status_code == 200, compacted.text
                    live[compacted.json()["generation"]] = set(towns)
        time.sleep(1)
        stop.set()
        for thread in clients:
            thread.join()

    assert not failures, failures[:5]
    assert len(seen) > 100 and len(live) == 56
    for question, generation, answer in seen:
        assert generation in live, "every reply comes from a generation that was written whole"
        cited = {p["article_id"] for p in answer["passages"]}
        towns_cited = {int(a[4:]) for a in cited if a.startswith("town")}
        assert towns_cited <= live[generation], "no passage from an article that generation does not hold"
        if question == SEED_QUESTION:
            assert answer["answer"] == "73个"
        elif answer["source"] and answer["source"]["article_id"].startswith("town"):
            number = int(answer["source"]["article_id"][4:])
            assert str(101 + 7 * number) in answer["answer"] or answer["abstained"], "text and offsets of one generation"


def test_a_server_follows_an_addition_made_by_the_command_line(serve_index, index_copy, town_file):
    with serve_index(index_copy) as (_, url):
        before = httpx.post(url + "/api/ask", json={"question": "青石镇新建了多少座风力发电站？"}, timeout=30)
        assert before.json()["abstained"]
        added = subprocess.run([sys.executable, "-m", "qa.cli", "add", str(town_file), "--index", str(index_copy)],
                               capture_output=True, text=True, timeout=120)
        assert added.returncode == 0, added.stderr
        deadline = time.time() + 20
        while time.time() < deadline:
            reply = httpx.post(url + "/api/ask", json={"question": "青石镇新建了多少座风力发电站？"}, timeout=30)
            if reply.json()["answer"] == "四十七座":
                break
            time.sleep(0.3)
        assert reply.json()["answer"] == "四十七座"
        assert reply.headers["x-index-generation"] != before.headers["x-index-generation"]

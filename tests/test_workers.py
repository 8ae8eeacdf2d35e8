"""`qa serve --workers N`: a real server of two worker processes on loopback, whose workers share the
conversations and follow each other's writes; the settings that reach the workers; compaction found due
by two workers at once runs once; one worker when several cannot share their state."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from qa.api.deps import GENERATION_HEADER, WORKER_HEADER
from qa.backends import get_backend
from qa.cli import _worker_count
from qa.collection import Collection
from qa.engine import Engine
from qa.generations import LiveEngine
from qa.intake import IncomingDocument
from qa.settings import Settings, environment

KEY = "workers-key-81c2"
SIGNED = "株洲截至4月底签约了多少个项目？"
FOLLOW_UP = "合同引资总额呢？"
TOWN = "白沙洲新闻\n白沙洲今年新建了六十三座智能充电站，总投资约三亿元。\n"
TOWN_QUESTION = "白沙洲新建了多少座智能充电站？"
HEADER_TIMEOUT = 1.0
ATTEMPTS = 60  # fresh connections tried to reach a given worker; the kernel picks one per connection


@pytest.fixture(scope="module")
def two_workers(seed_index, tmp_path_factory, serve_index):
    """A server of two worker processes over a copy of the seed index, writes enabled, once both answer."""
    folder = tmp_path_factory.mktemp("workers") / "index"
    shutil.copytree(seed_index, folder)
    with serve_index(folder, QA_WORKERS="2", QA_API_KEY=KEY, QA_INDEX_CHECK_SECONDS="0.2",
                     QA_HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT)) as (process, url):
        pids = set()
        deadline = time.time() + 180  # the second worker may still be loading when the first answers
        while len(pids) < 2 and time.time() < deadline:
            pids.add(_fresh(url, "GET", "/api/health").headers[WORKER_HEADER])
        assert len(pids) == 2, "both workers answer"
        yield process, url, folder


def _fresh(url: str, method: str, path: str, **kwargs) -> httpx.Response:
    """One request on a connection of its own, so that any worker may take it."""
    with httpx.Client(base_url=url, timeout=60) as client:
        return client.request(method, path, **kwargs)


def test_two_workers_answer_and_the_supervisor_loads_no_index(two_workers):
    process, url, _ = two_workers
    replies = [_fresh(url, "POST", "/api/ask", json={"question": SIGNED}) for _ in range(6)]
    assert all(r.status_code == 200 and r.json()["answer"] == "73个" for r in replies)
    workers = {int(r.headers[WORKER_HEADER]) for r in replies} | {int(_fresh(url, "GET", "/").headers[WORKER_HEADER])}
    assert process.pid not in workers, "the process started only supervises"


def test_kept_alive_connections_are_closed_now_and_then_so_clients_spread_over_the_workers(two_workers):
    """Every RECYCLE_AFTER_REQUESTS-th response on one connection says Connection: close, and the client's
    next request, on a new connection, is served as before."""
    from qa.serving import RECYCLE_AFTER_REQUESTS

    _, url, _ = two_workers
    with httpx.Client(base_url=url, timeout=60) as client:
        replies = [client.get("/api/health") for _ in range(RECYCLE_AFTER_REQUESTS * 2 + 1)]
    assert all(r.status_code == 200 for r in replies)
    closing = [number for number, r in enumerate(replies, 1) if r.headers.get("connection") == "close"]
    assert closing == [RECYCLE_AFTER_REQUESTS, 2 * RECYCLE_AFTER_REQUESTS]


def test_every_worker_times_out_unfinished_headers_with_the_servers_deadline(two_workers):
    """QA_HEADER_TIMEOUT_SECONDS reaches the workers (the default is 10 s): each of several connections,
    whichever worker takes it, is answered 408 and closed after about a second."""
    port = int(two_workers[1].rsplit(":", 1)[1])
    for _ in range(4):
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=30) as connection:
            connection.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            reply = b""
            while chunk := connection.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 408")
        assert time.monotonic() - started < 8 * HEADER_TIMEOUT


def test_a_follow_up_answered_by_the_other_worker_keeps_its_conversation(two_workers):
    _, url, _ = two_workers
    for _ in range(ATTEMPTS):
        first = _fresh(url, "POST", "/api/chat", json={"message": SIGNED})
        conversation = first.json()["conversation_id"]
        second = _fresh(url, "POST", "/api/chat", json={"message": FOLLOW_UP, "conversation_id": conversation})
        if first.headers[WORKER_HEADER] != second.headers[WORKER_HEADER]:
            break
    else:
        pytest.fail(f"{ATTEMPTS} pairs of turns all reached one worker")
    assert first.json()["answer"] == "73个"
    reply = second.json()
    assert reply["conversation_id"] == conversation
    assert reply["resolved_question"] == "株洲截至4月底合同引资总额多少", "the other worker knew the first turn"
    assert reply["answer"] == "202.4亿元"


def test_an_article_added_through_one_worker_is_answered_by_the_other_soon_after(two_workers):
    _, url, _ = two_workers
    before = _fresh(url, "POST", "/api/ask", json={"question": TOWN_QUESTION})
    assert before.json()["abstained"]
    added = _fresh(url, "POST", "/api/documents", json={"title": "白沙洲新闻", "text": TOWN},
                   headers={"X-API-Key": KEY})
    assert added.status_code == 200, added.text
    writer, generation = added.headers[WORKER_HEADER], added.json()["generation"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = _fresh(url, "POST", "/api/ask", json={"question": TOWN_QUESTION})
        if reply.headers[WORKER_HEADER] != writer and reply.headers[GENERATION_HEADER] == generation:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the other worker did not serve the new generation within 30 s")
    assert reply.json()["answer"] == "六十三座"

    removed = _fresh(url, "DELETE", f"/api/documents/{added.json()['outcomes'][0]['article_id']}",
                     headers={"X-API-Key": KEY})
    assert removed.status_code == 200, removed.text
    seen = set()
    deadline = time.monotonic() + 30
    while len(seen) < 2 and time.monotonic() < deadline:  # both workers, each once it serves the removal
        reply = _fresh(url, "POST", "/api/ask", json={"question": TOWN_QUESTION})
        if reply.headers[GENERATION_HEADER] == removed.json()["generation"]:
            assert reply.json()["abstained"]
            seen.add(reply.headers[WORKER_HEADER])
    assert len(seen) == 2, "both workers stopped answering from the removed article"


def test_writes_through_both_workers_at_once_all_land(two_workers):
    """Four uploads at once, whichever workers take them: the writer lock serialises them, none is lost."""
    _, url, folder = two_workers
    names = [f"洲{n}" for n in "甲乙丙丁"]
    replies = [None] * len(names)

    def upload(number: int) -> None:
        text = f"{names[number]}简报\n{names[number]}今年修建了{40 + number}座桥梁。\n"
        replies[number] = _fresh(url, "POST", "/api/documents", json={"title": names[number], "text": text},
                                 headers={"X-API-Key": KEY})

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(len(names))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r.status_code == 200 and r.json()["outcomes"][0]["status"] == "added" for r in replies), \
        [r.text for r in replies]
    assert len({r.json()["generation"] for r in replies}) == len(names), "one generation per write"
    articles, _ = get_backend(Settings(_env_file=None)).listing(folder)  # the index as written, whoever serves it
    assert set(names) <= {article.title for article in articles}


def test_settings_reach_another_process_unchanged(monkeypatch, tmp_path):
    settings = Settings(
        _env_file=None, index_dir=tmp_path / "index", allowed_hosts=["127.0.0.1", "qa.example"], cors_origins=[],
        api_key="k-1", index_check_seconds=0.2, header_timeout_seconds=1.5, mmap_index=False, workers=3,
        conversation_store="memory", top_k=5, abstain_threshold=None,
    )
    for name in [n for n in environment(Settings(_env_file=None))]:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment(settings).items():
        if value is not None:
            monkeypatch.setenv(name, value)
    assert Settings() == settings
    assert Settings().api_key.get_secret_value() == "k-1"


def test_a_server_whose_workers_cannot_start_stops_with_an_error(seed_index):
    """A worker's start-up failure (here the encoder asked for is not the index's) stops the server."""
    result = subprocess.run(
        [sys.executable, "-m", "qa.cli", "serve", "--port", "0", "--workers", "2", "--index", str(seed_index),
         "--model", "some-other-encoder"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "some-other-encoder" in result.stderr and "could not start" in result.stderr


def test_one_worker_where_a_process_state_cannot_be_shared(settings):
    assert _worker_count(settings.model_copy(update={"workers": 1})) == 1
    assert _worker_count(settings.model_copy(update={"workers": 3})) == 3
    with pytest.raises(ValueError, match="memory"):
        _worker_count(settings.model_copy(update={"workers": 2, "conversation_store": "memory"}))
    lite = settings.model_copy(update={"backend": "milvus", "milvus_uri": "some.db"})
    assert _worker_count(lite.model_copy(update={"workers": None})) == 1
    with pytest.raises(ValueError, match="Milvus Lite"):
        _worker_count(lite.model_copy(update={"workers": 2}))


def test_compaction_found_due_by_two_workers_at_once_runs_once(index_copy, settings, engine, caplog):
    """Two Collections over one index folder stand for two workers: both start compaction once a write
    has made it due; the writer lock lets one compact, and the other then finds it no longer due."""
    due = settings.model_copy(update={"compact_segments": 1})
    workers = [Collection(LiveEngine(Engine.load(index_copy, due), due), due) for _ in range(2)]
    report = workers[0].writer.add([IncomingDocument(name="town.txt", text=TOWN)])  # a write, not yet compacted
    assert report.compaction_due
    caplog.set_level(logging.INFO, logger="qa.collection")
    threads = [worker.compact_in_background() for worker in workers]
    for thread in threads:
        thread.join()
    messages = [record.getMessage() for record in caplog.records]
    assert sum(m.startswith("compacted the index in") for m in messages) == 1, messages
    assert sum("no longer due" in m for m in messages) == 1, messages
    for worker in workers:
        worker.live.refresh()
        assert len(worker.live.current().index.manifest.segments) == 1
        assert worker.live.current().ask(TOWN_QUESTION).answer == "六十三座"

"""A real `qa serve` on loopback: body limits and header timeouts on raw sockets, and a server that
follows its index folder while 32 clients ask and the index is rebuilt under it."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections import defaultdict

import httpx
import pytest

from qa.api.deps import GENERATION_HEADER
from qa.building import build_index
from qa.loadtest import running_server
from qa.manifest import MANIFEST_FILE

INTERVIEWS = "000_5eb15fd4d41f17c5.txt"  # the Xuzhou and Zhuzhou interviews
SIGNED = "株洲截至4月底签约了多少个项目？"
QUESTIONS = [SIGNED, "徐州缓缴社保多少", "株洲市市长是谁？", "徐州与哪个省交界？", "徐州去年的GDP是多少？"]
CLIENTS = 32
MAX_REQUESTS_PER_CLIENT = 150  # a bound, whatever happens; the clients stop once both rebuilds are served
HEADER_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def corpora(tmp_path_factory, settings):
    """The seed corpus (A) and the same with Zhuzhou's 73 signed projects made 88 (B)."""
    root = tmp_path_factory.mktemp("corpora")
    a, b = root / "a", root / "b"
    shutil.copytree(settings.corpus_dir, a)
    shutil.copytree(settings.corpus_dir, b)
    text = (b / INTERVIEWS).read_text("utf-8")
    assert text.count("73个") == 1
    (b / INTERVIEWS).write_text(text.replace("73个", "88个"), encoding="utf-8")
    return a, b


@pytest.fixture(scope="module")
def server(seed_index, tmp_path_factory):
    """A server over a copy of the seed index that the tests rebuild, remove and damage."""
    folder = tmp_path_factory.mktemp("live") / "index"
    shutil.copytree(seed_index, folder)
    env = {"QA_INDEX_CHECK_SECONDS": "0.2", "QA_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT)}
    with running_server(folder, env) as running:
        running.folder = folder
        yield running


def _raw(port: int, data: bytes, read_timeout: float = 30) -> bytes:
    """Send bytes on a fresh connection and read until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as connection:
        connection.sendall(data)
        received = b""
        while chunk := connection.recv(65536):
            received += chunk
        return received


def test_a_huge_declared_body_gets_413_without_being_sent(server):
    head = (
        "POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {100 * 1024 * 1024}\r\n\r\n"
    )
    reply = _raw(server.port, head.encode() + b'{"question": "')
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"limit" in reply


def test_a_chunked_body_gets_413_once_it_passes_the_limit(server):
    reply = _stream_chunked(server.port, 10 * 1024 * 1024)  # far past the limit: answered long before the end
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]  # without a limit the server waits for the end


def _stream_chunked(port: int, total: int) -> bytes:
    """POST a chunked body of up to total bytes, stopping when the server answers or hangs up."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
        connection.sendall(
            b"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        chunk, sent = b"x" * 65536, 0
        try:
            while sent < total:
                connection.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            return connection.recv(65536)
        except ConnectionResetError:
            return b""


def test_four_100_mb_bodies_at_once_leave_the_servers_memory_as_it_was(server):
    before = server.rss_mb()
    threads = [threading.Thread(target=_stream_chunked, args=(server.port, 100 * 1024 * 1024)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert server.rss_mb() < before + 20, "the server held on to bodies it should have refused"


def test_unfinished_headers_are_timed_out(server):
    started = time.monotonic()
    reply = _raw(server.port, b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n", read_timeout=HEADER_TIMEOUT * 20)
    assert reply.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < HEADER_TIMEOUT * 20


def test_a_connection_that_sends_nothing_is_closed(server):
    assert _raw(server.port, b"", read_timeout=HEADER_TIMEOUT * 20) == b""


def test_a_kept_alive_connection_outlives_the_header_timeout(server):
    with httpx.Client(base_url=server.url) as client:
        assert client.get("/api/health").status_code == 200
        time.sleep(HEADER_TIMEOUT * 2)  # idle: only uvicorn's keep-alive timeout (5 s) applies
        assert client.get("/api/health").status_code == 200


def _comparable(body: dict) -> str:
    """A reply without its timings, which differ between two askings of the same question."""
    return json.dumps({k: v for k, v in body.items() if k != "timings_ms"}, ensure_ascii=False, sort_keys=True)


def _health(server) -> dict:
    return httpx.get(server.url + "/api/health", timeout=30).json()


def _wait_for(server, predicate, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        health = _health(server)
        if predicate(health):
            return health
        time.sleep(0.2)
    raise AssertionError(f"health never became as expected: {health}")


def test_32_clients_see_no_mixed_or_failed_answers_while_the_index_is_rebuilt(server, corpora, settings):
    a, b = corpora
    first = _health(server)["generation"]
    replies: dict[tuple[str, str], set[str]] = defaultdict(set)  # (generation, question) -> distinct replies
    failures: list[str] = []
    done = threading.Event()
    lock = threading.Lock()

    def client(number: int) -> None:
        with httpx.Client(base_url=server.url, timeout=120) as http:
            for count in range(MAX_REQUESTS_PER_CLIENT):
                if done.is_set():
                    return
                question = QUESTIONS[(number + count) % len(QUESTIONS)]
                try:
                    response = http.post("/api/ask", json={"question": question})
                except httpx.HTTPError as error:
                    failures.append(f"{question}: {error!r}")
                    continue
                if response.status_code != 200:
                    failures.append(f"{question}: {response.status_code} {response.text[:200]}")
                    continue
                with lock:
                    replies[(response.headers[GENERATION_HEADER], question)].add(_comparable(response.json()))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        rebuilt = build_index(b, server.folder, settings, progress=False).generation
        _wait_for(server, lambda h: h["generation"] == rebuilt and h["status"] == "ok")
        back = build_index(a, server.folder, settings, progress=False).generation
        _wait_for(server, lambda h: h["generation"] == back and h["status"] == "ok")
        time.sleep(1)  # some answers from the last generation too
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=300)

    assert failures == []
    generations = {generation for generation, _ in replies}
    assert {first, rebuilt, back} <= generations, "answers from every generation were seen"
    for (generation, question), seen in replies.items():
        assert len(seen) == 1, f"generation {generation[:8]} gave {len(seen)} different replies to {question}"
    answer = {g: json.loads(next(iter(replies[(g, SIGNED)])))["answer"] for g in (first, rebuilt, back)}
    assert answer == {first: "73个", rebuilt: "88个", back: "73个"}
    for question in QUESTIONS:  # the same corpus built twice gives the same replies
        assert replies[(first, question)] == replies[(back, question)]


def test_health_is_degraded_while_the_index_folder_is_gone_or_damaged_and_answers_go_on(server, settings):
    before = _health(server)
    expected = httpx.post(server.url + "/api/ask", json={"question": SIGNED}).json()["answer"]

    shutil.move(server.folder, server.folder.with_name("moved"))
    health = _wait_for(server, lambda h: h["status"] == "degraded")
    assert "gone" in health["reason"] and health["generation"] == before["generation"]
    response = httpx.post(server.url + "/api/ask", json={"question": SIGNED})
    assert response.status_code == 200 and response.json()["answer"] == expected
    assert httpx.get(server.url + "/api/documents").status_code == 200

    shutil.move(server.folder.with_name("moved"), server.folder)
    _wait_for(server, lambda h: h["status"] == "ok" and h["generation"] == before["generation"])

    with open(server.folder / "segments/000001/dense.faiss", "r+b") as handle:  # damaged in place
        handle.seek(0, 2)
        handle.write(b"\0")
    health = _wait_for(server, lambda h: h["status"] == "degraded")
    assert "damaged" in health["reason"]
    assert httpx.post(server.url + "/api/ask", json={"question": SIGNED}).json()["answer"] == expected

    (server.folder / MANIFEST_FILE).write_text("{", encoding="utf-8")
    health = _wait_for(server, lambda h: "manifest" in (h["reason"] or ""))
    assert health["status"] == "degraded"

    rebuilt = _rebuild_over_damage(server, settings)
    _wait_for(server, lambda h: h["status"] == "ok" and h["generation"] == rebuilt)


def _rebuild_over_damage(server, settings) -> str:
    """A damaged index cannot be replaced by a build (it is no longer recognisably ours): remove it, build anew."""
    shutil.rmtree(server.folder)
    return build_index(settings.corpus_dir, server.folder, settings, progress=False).generation

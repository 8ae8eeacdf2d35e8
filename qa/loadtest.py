"""Load on a qa server over loopback: start one as its own process, drive it with clients, measure.

Honest clients each send a fixed number of requests, a mix of ``/api/ask``,
``/api/chat`` (follow-ups in one conversation) and ``/api/documents``; worst-case
clients send questions of 500 random CJK characters (the longest question the
API takes, with nothing in it that the articles share) for as long as the honest
clients run, at most a fixed number each. Every loop is bounded in count, and
traffic only ever goes to the server started here on 127.0.0.1. Used by
``eval/load_bench.py`` (figures) and the test suite (zero errors, bounded memory).
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

HONEST_QUESTIONS = [
    "徐州缓缴社保多少", "株洲市市长是谁？", "徐州与哪个省交界？", "徐州去年的GDP是多少？",
    "徐州要建设的四大创新平台是什么？", "采访周铁根的记者叫什么名字？",
]
CONVERSATION = ["株洲截至4月底签约了多少个项目？", "合同引资总额呢？"]
WORST_QUESTION_CHARS = 500
START_SECONDS = 300


def worst_question(rng: random.Random) -> str:
    """500 random CJK unified ideographs: the longest question allowed, sharing little with any article."""
    return "".join(chr(rng.randint(0x4E00, 0x9FA5)) for _ in range(WORST_QUESTION_CHARS))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunningServer:
    """A `qa serve` process on 127.0.0.1: its process, base URL, port, and log file."""

    process: subprocess.Popen
    url: str
    port: int
    log: Path

    def output(self) -> str:
        """What the server has printed so far."""
        return self.log.read_text("utf-8", "replace")

    def processes(self) -> list[int]:
        """The server's process ids: the one started, then its worker processes (with --workers N) and theirs."""
        found, pending = [], [self.process.pid]
        while pending:
            pid = pending.pop(0)
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                try:
                    pending += [int(child) for child in task.read_text().split()]
                except OSError:  # the thread or the process has just ended
                    pass
        return found

    def cpu_seconds(self) -> float:
        """CPU time (user and system) the server's running processes have used so far, from /proc."""
        total = 0
        for pid in self.processes():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15 of stat
        return total / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        """The server's resident memory in MB, from /proc: all its processes' together (pages of the
        memory-mapped index that several workers share count once per worker)."""
        total = 0
        for pid in self.processes():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
        if not total:
            raise RuntimeError("no VmRSS for the server process")
        return total / 1024


@contextmanager
def running_server(index: str | Path, env: dict[str, str] | None = None, python: str = sys.executable,
                   workers: int | None = None):
    """`qa serve --index index [--workers N]` on a free loopback port, with extra QA_* environment; stopped on exit."""
    port = free_port()
    more = ["--workers", str(workers)] if workers else []
    with tempfile.NamedTemporaryFile("w+", prefix="qa-serve-", suffix=".log", delete=False) as log:
        process = subprocess.Popen(
            [python, "-m", "qa.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--index", str(index), *more],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )
    server = RunningServer(process, f"http://127.0.0.1:{port}", port, Path(log.name))
    try:
        _wait_until_up(server)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        server.log.unlink(missing_ok=True)


def _wait_until_up(server: RunningServer) -> None:
    deadline = time.monotonic() + START_SECONDS
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited: {server.output()}")
        try:
            if httpx.get(server.url + "/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"server did not start in {START_SECONDS} s: {server.output()}")
        time.sleep(0.3)


@dataclass
class LoadResult:
    """What one kind of client saw: requests, errors, latencies, and the time they took."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms) + len(self.errors)

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        """The q-th percentile latency in ms (0 when nothing succeeded)."""
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else 0.0

    def summary(self) -> dict:
        """The figures, rounded, for printing or JSON."""
        return {
            "requests": self.requests, "errors": len(self.errors), "seconds": round(self.seconds, 2),
            "requests_per_second": round(self.per_second, 1), "p50_ms": round(self.percentile(50), 1),
            "p99_ms": round(self.percentile(99), 1), "kinds": dict(self.kinds),
        }


async def _timed(client: httpx.AsyncClient, result: LoadResult, kind: str, method: str, path: str, **kwargs) -> dict:
    started = time.perf_counter()
    try:
        response = await client.request(method, path, **kwargs)
    except httpx.HTTPError as error:
        result.errors.append(f"{kind}: {error!r}")
        return {}
    if response.status_code != 200:
        result.errors.append(f"{kind}: {response.status_code} {response.text[:200]}")
        return {}
    result.latencies_ms.append((time.perf_counter() - started) * 1000)
    result.kinds[kind] += 1
    return response.json()


async def _honest(url: str, number: int, requests: int, result: LoadResult, documents: bool = True) -> None:
    """One user: questions, a two-turn conversation, now and then the list of documents (unless documents
    is False: a corpus of thousands of articles makes that list a large download, not a question)."""
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        conversation = None
        for step in range(requests):
            slot = (number + step) % 10
            if slot == 0 and documents:
                await _timed(client, result, "documents", "GET", "/api/documents")
            elif slot < 5:
                question = HONEST_QUESTIONS[(number * 7 + step) % len(HONEST_QUESTIONS)]
                await _timed(client, result, "ask", "POST", "/api/ask", json={"question": question})
            else:
                message = CONVERSATION[0] if conversation is None else CONVERSATION[1]
                body = await _timed(
                    client, result, "chat", "POST", "/api/chat",
                    json={"message": message, "conversation_id": conversation},
                )
                conversation = None if conversation else body.get("conversation_id")


async def _worst(url: str, seed: int, most: int, stop: asyncio.Event, result: LoadResult) -> None:
    """One hostile client: the costliest questions, back to back, until the honest ones are done."""
    rng = random.Random(seed)
    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        for _ in range(most):
            if stop.is_set():
                return
            await _timed(client, result, "worst", "POST", "/api/ask", json={"question": worst_question(rng)})


async def _load(url: str, clients: int, requests: int, worst_clients: int, worst_most: int, seed: int,
                documents: bool = True):
    honest, worst = LoadResult(), LoadResult()
    stop = asyncio.Event()
    started = time.perf_counter()
    hostile = [asyncio.create_task(_worst(url, seed + n, worst_most, stop, worst)) for n in range(worst_clients)]
    await asyncio.gather(*(_honest(url, n, requests, honest, documents) for n in range(clients)))
    honest.seconds = time.perf_counter() - started
    stop.set()
    await asyncio.gather(*hostile)
    worst.seconds = time.perf_counter() - started
    return honest, worst


def run_load(
    url: str, clients: int = 32, requests: int = 20, worst_clients: int = 0, worst_most: int = 5, seed: int = 0,
    documents: bool = True,
) -> tuple[LoadResult, LoadResult]:
    """Run clients honest clients of requests requests each, beside worst_clients worst-case clients
    (at most worst_most questions each, none started after the honest clients are done) against url
    on loopback; returns what the honest and the worst-case clients saw. With documents False the
    honest clients only ask and chat."""
    if not url.startswith(("http://127.", "http://localhost", "http://[::1]")):
        raise ValueError(f"load goes to a server on this machine's loopback only, not {url}")
    return asyncio.run(_load(url, clients, requests, worst_clients, worst_most, seed, documents))

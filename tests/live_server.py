"""`qa serve` as its own process on a free loopback port, for the tests that need a real server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

START_SECONDS = 180


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    """A running server: its process, base URL and port, and what it printed so far."""

    process: subprocess.Popen
    url: str
    port: int
    log: Path

    def output(self) -> str:
        return self.log.read_text("utf-8", "replace")


@contextmanager
def live_server(index: Path, env: dict[str, str] | None = None):
    """Start `qa serve --index index` with extra QA_* environment, wait until it answers, stop it after."""
    port = free_port()
    with tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False) as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "qa.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--index", str(index)],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        )
    server = LiveServer(process, f"http://127.0.0.1:{port}", port, Path(log.name))
    try:
        deadline = time.time() + START_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {server.output()}")
            try:
                if httpx.get(server.url + "/api/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"server did not start in {START_SECONDS} s: {server.output()}")
            time.sleep(0.3)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        Path(log.name).unlink(missing_ok=True)

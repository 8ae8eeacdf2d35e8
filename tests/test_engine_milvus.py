"""The engine tests of tests/test_engine.py, every one unchanged, on the Milvus backend (real Milvus Lite):
this module's `engine` fixture is the seed corpus built into a Lite file of its own."""

from __future__ import annotations

import pytest
from test_engine import *  # noqa: F403 (the same test functions, collected again here with the fixture below)

from qa.backends import get_backend
from qa.engine import Engine


@pytest.fixture(scope="module")
def engine(tmp_path_factory, settings) -> Engine:
    """The seed corpus in Milvus Lite, and its engine (in place of conftest's local one)."""
    milvus = settings.model_copy(update={"backend": "milvus", "milvus_collection": "engine",
                                         "milvus_uri": str(tmp_path_factory.mktemp("milvus-engine") / "qa.db")})
    get_backend(milvus).build(milvus.corpus_dir, progress=False)
    return Engine.load(None, milvus)

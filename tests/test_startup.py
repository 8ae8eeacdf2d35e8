"""What happens before the first request: models loaded at start, and the CLI's bounds on numbers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qa.cli import main

STARTED = """
import sys, jieba
from fastapi.testclient import TestClient
from qa.api.app import create_app
from qa.settings import Settings
with TestClient(create_app(Settings(_env_file=None, index_dir=sys.argv[1], allowed_hosts=["testserver"]))):
    print("jieba loaded before the first request:", jieba.dt.initialized)
"""


def test_models_are_loaded_when_the_server_starts_not_on_the_first_request(seed_index):
    # A fresh process: in this one earlier tests have long loaded everything.
    result = subprocess.run([sys.executable, "-c", STARTED, str(seed_index)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "jieba loaded before the first request: True" in result.stdout


@pytest.mark.parametrize("value", ["0", "-3", "101", "many"])
def test_qa_ask_checks_top_k(value, seed_index, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["ask", "徐州缓缴社保多少", "--top-k", value, "--index", str(seed_index)])
    assert exit.value.code == 2
    assert "--top-k" in capsys.readouterr().err


@pytest.mark.parametrize("top_k", [0, -1, 101])
def test_the_engine_refuses_top_k_out_of_range(engine, top_k):
    with pytest.raises(ValueError, match="top_k"):
        engine.ask("徐州缓缴社保多少", top_k)

"""The qa command as users run it: a real subprocess over a real index."""

import json
import subprocess
import sys

import pytest


def qa(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_ask_prints_answer_sentence_and_source(seed_index):
    result = qa("ask", "株洲市市长是谁？", "--index", str(seed_index))
    assert result.returncode == 0, result.stderr
    assert "答案：阳卫国" in result.stdout
    assert "依据：" in result.stdout and "来源：" in result.stdout and "段" in result.stdout


def test_ask_json_prints_the_result_object(seed_index):
    result = qa("ask", "株洲市市长是谁？", "--json", "--top-k", "3", "--index", str(seed_index))
    body = json.loads(result.stdout)
    assert body["answer"] == "阳卫国" and body["abstained"] is False
    assert set(body) >= {"answer", "sentence", "source", "confidence", "abstained"}
    assert body["source"]["paragraph"] >= 1


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question_is_an_error(question, seed_index):
    result = qa("ask", question, "--index", str(seed_index))
    assert result.returncode != 0
    assert "empty" in result.stderr


def test_index_then_ask_builds_where_told(tmp_path, settings):
    built = qa("index", str(settings.corpus_dir), "--out", str(tmp_path / "idx"))
    assert built.returncode == 0, built.stderr
    assert "indexed 2 articles" in built.stdout
    assert (tmp_path / "idx" / "manifest.json").is_file()


def test_ask_builds_a_missing_index_from_the_corpus(tmp_path, settings):
    (tmp_path / "corpus").symlink_to(settings.corpus_dir)
    result = qa("ask", "株洲市市长是谁？", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "阳卫国" in result.stdout
    assert (tmp_path / "index" / "manifest.json").is_file()


def test_a_mismatched_model_says_what_to_rebuild(seed_index, minilm_folder):
    result = qa("ask", "徐州缓缴社保多少", "--index", str(seed_index), "--model", str(minilm_folder))
    assert result.returncode != 0
    assert "rebuild" in result.stderr


def test_a_one_shot_ask_never_imports_pytorch_or_the_training_libraries(seed_index):
    """The shipped encoder and reader run on numpy and ONNX Runtime: importing PyTorch (about 1.2 s of
    a fresh process) or LightGBM would only slow the first answer."""
    code = ("import sys; from qa.cli import main; status = main(['ask', '株洲市市长是谁？', '--index', sys.argv[1]]); "
            "print(status, sorted(m for m in ('torch', 'lightgbm', 'sklearn', 'onnx') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code, str(seed_index)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "阳卫国" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "0 []"

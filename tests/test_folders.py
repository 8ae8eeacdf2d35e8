"""Folders are sacred: the CLI and the engine only ever replace an index folder this program built.

Every case runs the real ``qa`` command (in this process, through ``qa.cli.main``) or the
real build on real folders, and checks that the user's files are still there.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qa.building import build_index
from qa.cli import main
from qa.folders import UnsafeFolderError, check_index_target, clean_leftovers, is_index_folder
from qa.index import HybridIndex
from qa.manifest import MANIFEST_FILE, IndexMismatchError

ROOT = Path(__file__).resolve().parent.parent
DEAD_PID = 4_000_000  # above Linux's pid_max: no process has it


@pytest.fixture
def user_folder(tmp_path):
    """A folder of someone's own files, which nothing may delete."""
    folder = tmp_path / "mine"
    (folder / "notes").mkdir(parents=True)
    (folder / "thesis.txt").write_text("三年的心血", encoding="utf-8")
    (folder / "notes" / "a.md").write_text("笔记", encoding="utf-8")
    return folder


def _error(capsys) -> str:
    """What the command printed on stderr, with the terminal's line wrapping undone."""
    return " ".join(capsys.readouterr().err.split())


def _contents(folder):
    return sorted((p.relative_to(folder).as_posix(), p.read_bytes() if p.is_file() else b"") for p in folder.rglob("*"))


@pytest.mark.parametrize("command", [["ask", "徐州缓缴社保多少"], ["eval", str(ROOT / "eval" / "seeds.jsonl")], ["serve", "--port", "1"]])
def test_commands_do_not_build_over_a_folder_that_is_not_an_index(command, user_folder, capsys):
    before = _contents(user_folder)
    assert main([*command, "--index", str(user_folder)]) != 0
    error = _error(capsys)
    assert str(user_folder) in error and "not replaced" in error and "nothing was changed" in error
    assert _contents(user_folder) == before


def test_index_does_not_replace_a_folder_that_is_not_an_index(user_folder, settings, capsys):
    before = _contents(user_folder)
    assert main(["index", str(settings.corpus_dir), "--out", str(user_folder)]) == 2
    assert str(user_folder) in _error(capsys)
    assert _contents(user_folder) == before


def test_an_index_with_a_file_of_the_users_added_is_not_replaced(seed_index, tmp_path):
    target = tmp_path / "index"
    shutil.copytree(seed_index, target)
    (target / "my-notes.txt").write_text("别删", encoding="utf-8")
    assert not is_index_folder(target)
    with pytest.raises(UnsafeFolderError, match="not replaced"):
        check_index_target(target)


@pytest.mark.parametrize("where", ["corpus", "parent"])
def test_out_may_not_be_or_hold_the_corpus(where, tmp_path, settings, capsys):
    corpus = tmp_path / "corpus"
    shutil.copytree(settings.corpus_dir, corpus)
    before = _contents(corpus)
    out = corpus if where == "corpus" else tmp_path
    assert main(["index", str(corpus), "--out", str(out)]) == 2
    assert "corpus" in _error(capsys)
    assert _contents(corpus) == before


def test_out_dot_is_a_clear_error_not_an_os_error(tmp_path, settings, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("留着", encoding="utf-8")
    assert main(["index", str(settings.corpus_dir), "--out", "."]) == 2
    assert "current folder" in _error(capsys)
    assert (tmp_path / "keep.txt").read_text("utf-8") == "留着"


def test_out_a_file_is_refused_and_leaves_nothing_behind(tmp_path, settings, capsys):
    target = tmp_path / "report.pdf"
    target.write_bytes(b"%PDF-1.4 precious")
    assert main(["index", str(settings.corpus_dir), "--out", str(target)]) == 2
    assert "not a folder" in _error(capsys)
    assert target.read_bytes() == b"%PDF-1.4 precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf"]


def test_an_empty_folder_and_an_existing_index_are_built_into(tmp_path, settings):
    target = tmp_path / "index"
    target.mkdir()
    first = build_index(settings.corpus_dir, target, settings, progress=False)
    second = build_index(settings.corpus_dir, target, settings, progress=False)
    assert is_index_folder(target) and second.generation != first.generation
    assert HybridIndex.load(target).manifest.generation == second.generation
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [".index.lock", "index"], "no staging or retired folder is left (the writer lock file stays)"


def test_leftovers_of_crashed_builds_are_cleaned_by_the_next_build(seed_index, tmp_path, settings):
    target = tmp_path / "index"
    shutil.copytree(seed_index, target)
    dead = [tmp_path / f".index.building-{DEAD_PID}", tmp_path / f".index.old-{DEAD_PID + 1}"]
    for folder in dead:
        shutil.copytree(seed_index, folder)
    live = tmp_path / ".index.building-1"  # pid 1 always runs: a build in progress elsewhere
    live.mkdir()
    other = tmp_path / ".index.building-notes"  # not named like ours: not ours to delete
    other.mkdir()
    build_index(settings.corpus_dir, target, settings, progress=False)
    assert not any(folder.exists() for folder in dead)
    assert live.is_dir() and other.is_dir()


def test_a_crash_between_the_two_renames_of_a_swap_is_repaired(seed_index, tmp_path):
    target = tmp_path / "index"
    shutil.copytree(seed_index, tmp_path / f".index.old-{DEAD_PID}")
    assert clean_leftovers(target) == []
    assert HybridIndex.load(target).manifest.chunks > 0


def test_a_manifest_without_its_file_list_is_refused_as_damaged(seed_index, tmp_path):
    target = tmp_path / "index"
    shutil.copytree(seed_index, target)
    manifest = json.loads((target / MANIFEST_FILE).read_text("utf-8"))
    del manifest["files"]
    (target / MANIFEST_FILE).write_text(json.dumps(manifest), encoding="utf-8")
    (target / "chunks.sqlite").write_bytes(b"not a database")
    with pytest.raises(IndexMismatchError, match="damaged"):
        HybridIndex.load(target)

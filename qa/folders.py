"""Folder safety: the program only ever replaces a folder that holds an index it built itself.

An index is built into a staging folder beside its target (``.NAME.building-PID``)
and swapped into place; the folder it replaces is set aside as ``.NAME.old-PID``
and deleted. Before anything is encoded, and again just before the swap,
``check_index_target`` refuses a target that is not new, empty or an index of
this program (a manifest it can read, and nothing but the files that manifest
lists), that is or holds the corpus, or that is or holds the current folder.
``clean_leftovers`` removes what crashed builds left beside the target.
"""

from __future__ import annotations

import ctypes
import errno
import glob
import logging
import os
import shutil
from pathlib import Path

from qa.manifest import MANIFEST_FILE, Manifest

log = logging.getLogger(__name__)

_BUILDING = "building"
_RETIRED = "old"


class UnsafeFolderError(ValueError):
    """A folder the program was asked to replace, but that may hold someone's files."""


def staging_folder(target: Path) -> Path:
    """Where this process builds the index that will replace target."""
    return _sibling(target, _BUILDING, os.getpid())


def _sibling(target: Path, kind: str, pid: int) -> Path:
    return target.parent / f".{target.name}.{kind}-{pid}"


def _leftovers(target: Path, kind: str) -> list[tuple[Path, int]]:
    """Siblings of target of one kind (building, old), with the id of the process that made them."""
    prefix = f".{target.name}.{kind}-"
    found = []
    for path in target.parent.glob(f"{glob.escape(prefix)}*"):
        pid = path.name[len(prefix) :]
        if pid.isdigit() and path.is_dir() and not path.is_symlink():
            found.append((path, int(pid)))
    return sorted(found)


def _alive(pid: int) -> bool:
    """Whether a process with this id runs (one we may not signal still runs)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_index_folder(folder: Path) -> bool:
    """Whether folder holds an index of this program: a manifest it can read, and only the files it lists."""
    try:
        manifest = Manifest.model_validate_json((folder / MANIFEST_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    listed = {MANIFEST_FILE, *manifest.files}
    for path in folder.rglob("*"):
        relative = path.relative_to(folder).as_posix()
        if path.is_dir() and not path.is_symlink():
            if not any(name.startswith(relative + "/") for name in listed):
                return False
        elif relative not in listed:
            return False
    return True


def _describe(folder: Path) -> str:
    """How many entries a folder holds, for error messages."""
    count = sum(1 for _ in folder.iterdir())
    return f"{count} file{'s' if count != 1 else ''} or folder{'s' if count != 1 else ''}"


def check_index_target(target: str | Path, corpus_dir: str | Path | None = None) -> Path:
    """The absolute folder an index may be built into, or UnsafeFolderError saying why not and what to do."""
    target = Path(target).resolve()
    if target.parent == target:
        raise UnsafeFolderError(f"{target} is the root of a file system; give the index a folder of its own")
    if corpus_dir is not None:
        corpus = Path(corpus_dir).resolve()
        if corpus == target or target in corpus.parents:
            raise UnsafeFolderError(
                f"the index folder {target} is or holds the corpus folder {corpus}; building there would delete "
                "the articles. Choose another folder, e.g. `qa index CORPUS --out index`"
            )
    cwd = Path.cwd().resolve()
    if cwd == target or target in cwd.parents:
        raise UnsafeFolderError(
            f"the index folder {target} is or holds the current folder; replacing it would pull the folder "
            "from under you. Run the command from elsewhere, or choose another folder"
        )
    if target.exists() and not target.is_dir():
        raise UnsafeFolderError(
            f"{target} exists and is not a folder; nothing was changed. Choose a new folder for the index"
        )
    if target.is_dir() and any(target.iterdir()) and not is_index_folder(target):
        raise UnsafeFolderError(
            f"{target} holds {_describe(target)} but no index built by qa (no valid {MANIFEST_FILE}), so it is "
            "not replaced; nothing was changed. Choose a new or empty folder (`qa index --out`, `--index`, "
            "QA_INDEX_DIR), or move that folder away first"
        )
    return target


def clean_leftovers(target: Path) -> list[Path]:
    """Put back an index a crash left set aside, and delete what dead builds left beside target.

    Only folders named like this program's staging and retired folders, made by
    processes that no longer run, are touched. Returns the folders deleted.
    """
    if not target.exists():
        retired = [path for path, pid in _leftovers(target, _RETIRED) if not _alive(pid)]
        if retired:  # a crash fell between the two renames of a swap: the retired index is the last good one
            os.replace(retired[-1], target)
    removed = []
    for kind in (_BUILDING, _RETIRED):
        for path, pid in _leftovers(target, kind):
            if not _alive(pid):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
                log.info("removed %s, left by a build that did not finish", path)
    return removed


def swap_into_place(staging: Path, target: Path) -> None:
    """Replace target with staging in one step where the system allows it; the old index is then deleted.

    Linux exchanges the two folders atomically (renameat2 RENAME_EXCHANGE), so
    a reader of target sees the old index or the new one, never no index. Elsewhere
    target is first set aside and staging renamed in; clean_leftovers repairs a
    crash between the two renames.
    """
    if target.exists() and _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)
        return
    retired = _sibling(target, _RETIRED, os.getpid())
    if target.exists():
        os.replace(target, retired)
    os.replace(staging, target)
    shutil.rmtree(retired, ignore_errors=True)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Atomically exchange two paths; False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(second))

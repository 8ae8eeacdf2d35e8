"""Writing the next generation of an index folder: all or nothing, one writer at a time.

Every write (a full build, an addition, a removal, a compaction) makes the next
generation in a staging folder beside the index:

1. the segments it keeps are hard links to the current generation's files (no
   copy; those files are never written again, so other articles' vectors are
   never touched);
2. the new segments are written, then the deletions, then the manifest, last;
3. every new file and folder is fsynced, and the staging folder is exchanged
   with the index folder in one atomic step (qa.folders.swap_into_place).

A process killed at any moment leaves the old generation in place (plus a
staging folder the next writer removes) or the new one whole, never a mix.
Readers that loaded the old generation keep their open files.

Writers hold a lock on a file beside the index folder (the folder itself is
replaced by every write); a second writer waits up to ``wait_seconds`` and then
gets ``IndexBusyError``.
"""

from __future__ import annotations

import os
import shutil
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from qa.deletions import Deletions
from qa.folders import clean_leftovers, staging_folder, swap_into_place
from qa.manifest import FileRecord, Manifest, new_generation, record_files
from qa.merged_dense import MergedDenseRecord, usable
from qa.segment import SegmentContent, SegmentRecord, write_segment

_process_locks: dict[object, threading.Lock] = {}
_process_locks_guard = threading.Lock()


class IndexBusyError(RuntimeError):
    """Another writer holds the index."""


def lock_path(target: Path) -> Path:
    """The lock file of an index folder: beside it, since the folder is replaced by each write."""
    return target.parent / f".{target.name}.lock"


@contextmanager
def exclusive(key: object, lock_file: Path | None, wait_seconds: float, busy: IndexBusyError):
    """Hold the writer lock of one index: a lock per key among this process's threads, then lock_file
    (when given) among processes; busy is raised after wait_seconds. Shared by every backend."""
    with _process_locks_guard:
        in_process = _process_locks.setdefault(key, threading.Lock())
    if not in_process.acquire(timeout=wait_seconds if wait_seconds > 0 else -1):
        raise busy
    try:
        if lock_file is None:
            yield
            return
        lock = FileLock(lock_file, timeout=wait_seconds)
        try:
            lock.acquire()
        except Timeout:
            raise busy from None
        try:
            yield
        finally:
            lock.release()
    finally:
        in_process.release()


@contextmanager
def writer_lock(target: str | Path, wait_seconds: float):
    """Hold the index's writer lock (threads of this process and other processes alike), or IndexBusyError."""
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    busy = IndexBusyError(
        f"another writer is changing the index {target} (a `qa add`, `qa remove`, `qa index`, compaction or an "
        f"upload); waited {wait_seconds:g} s. Try again when it has finished"
    )
    with exclusive(target, lock_path(target), wait_seconds, busy):
        clean_leftovers(target)  # what writers killed earlier left behind
        yield


def now() -> str:
    """The time now, ISO 8601 in UTC, as the manifest and the store record it."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def fsync(path: Path) -> None:
    """Make a file or folder's contents (a folder's entries) durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _link_segment(current: Path, staging: Path, record: SegmentRecord, files: dict[str, FileRecord]) -> None:
    """Hard-link a kept segment's files from the current generation into the staging folder."""
    prefix = record.folder + "/"
    for name in files:
        if name.startswith(prefix):
            (staging / name).parent.mkdir(parents=True, exist_ok=True)
            os.link(current / name, staging / name)


def _link_file(source: Path, staging: Path, name: str) -> None:
    """Hard-link one file (name relative to both folders) from source into the staging folder."""
    (staging / name).parent.mkdir(parents=True, exist_ok=True)
    os.link(source / name, staging / name)


def _link_tree(source: Path, destination: Path) -> None:
    """Hard-link every file of a segment folder written elsewhere (a resumable build's) into destination."""
    for path in sorted(source.rglob("*")):
        if path.is_file():
            (destination / path.relative_to(source)).parent.mkdir(parents=True, exist_ok=True)
            os.link(path, destination / path.relative_to(source))


def commit(
    target: Path,
    draft: dict,
    keep: list[SegmentRecord],
    contents: list[SegmentContent],
    deletions: Deletions,
    known_files: dict[str, FileRecord],
    dense_kind: str,
    written: list[tuple[Path, SegmentRecord]] = (),
    merged_written: list[tuple[Path, MergedDenseRecord]] = (),
) -> Manifest:
    """Write and switch to the next generation of target: the kept segments, new ones from contents, the deletions.

    draft holds the manifest's other fields (encoder, corpus, next_chunk_id, next_segment, merged_dense, ...);
    known_files the records of the current generation's files, which kept segments reuse unread;
    written, segments already written (and synced) in other folders, linked in after the kept ones;
    merged_written, merged dense indexes written (and synced) in other folders over segments kept or
    written. The draft's merged dense indexes stay while every segment they cover is kept.
    The caller holds the writer lock.
    """
    staging = staging_folder(target)
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    merged = usable([MergedDenseRecord.model_validate(m) for m in draft.get("merged_dense", [])], keep)
    kept_files = {
        name: r for name, r in known_files.items()
        if any(name.startswith(k.folder + "/") for k in keep) or any(name == m.file for m in merged)
    }
    try:
        for record in keep:
            _link_segment(target, staging, record, kept_files)
        for record in merged:
            _link_file(target, staging, record.file)
        records, number = list(keep), draft["next_segment"]
        for folder, record in written:
            _link_tree(folder, staging / record.folder)
            records.append(record)
        for folder, record in merged_written:
            _link_file(folder, staging, record.file)
            merged.append(record)
        for content in contents:
            name = f"{number:06d}"
            number += 1
            records.append(write_segment(staging / "segments" / name, name, content, dense_kind))
        deletions.save(staging)
        removed_articles = sum(len(ids) for ids in deletions.articles.values())
        manifest = Manifest(
            **{
                **draft,
                "generation": new_generation(),
                "segments": records,
                "next_segment": number,
                "merged_dense": usable(merged, records),
                "articles": sum(r.articles for r in records) - removed_articles,
                "chunks": sum(r.chunks for r in records) - len(deletions.chunks),
                "files": record_files(staging, kept_files),
            }
        )
        manifest.save(staging)
        for path in sorted(staging.rglob("*"), reverse=True):  # files before the folders holding them
            # Kept files are links to files made durable when their segment was written: only their
            # folder entries are new, and the folders are synced below.
            if path.is_dir() or path.relative_to(staging).as_posix() not in kept_files:
                fsync(path)
        fsync(staging)
        swap_into_place(staging, target)
        fsync(target.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest

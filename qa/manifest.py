"""The index manifest: what an index was built from and with, and the checks made on loading.

Saved as ``manifest.json`` beside the index files, written last, so a folder
without one is not an index. Loading refuses an index whose format, encoder,
dimension or files do not match, and says what to rebuild.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from qa import __version__
from qa.corpus import CorpusProblem, file_stamps, load_corpus
from qa.merged_dense import MergedDenseRecord
from qa.segment import SegmentRecord

# 2: the index is a list of segments plus deletions (qa.segment, qa.deletions), so articles can be added and removed.
FORMAT_VERSION = 2
MANIFEST_FILE = "manifest.json"


_cache: dict[tuple, "Manifest"] = {}
_cache_lock = threading.Lock()


class IndexProblem(Exception):
    """Base for problems with an index on disk."""


class IndexMissingError(IndexProblem):
    """No index where one was expected."""


class IndexMismatchError(IndexProblem):
    """An index that cannot be used as it is: other version, encoder or dimension, or damaged."""


class FileRecord(BaseModel):
    """Size, hash and modification time of one index file, to detect damage."""

    size: int
    sha256: str
    # When the file was written: a file with its recorded size and time is taken as unchanged without
    # reading it (loading a large index hashed hundreds of MB); `qa verify` hashes every file regardless.
    mtime_ns: int = 0


class BuildRecord(BaseModel):
    """What every backend's manifest says of its index: how it was built, from what, and how large it is now."""

    qa_version: str = __version__
    # Unique to each generation (new_generation()): a server compares it to tell a changed index from the one it serves.
    generation: str
    encoder: str
    dim: int
    tokenizer: str
    dense_index: str
    chunk_max_chars: int
    chunk_min_chars: int
    corpus_dir: str
    corpus_fingerprint: str
    # file_stamps of the corpus folder at build time (empty for an index of a Corpus object)
    corpus_files: dict[str, tuple[int, int]] = {}
    articles: int  # as the index is now, after any additions and removals
    chunks: int
    built_at: str  # of the full build (`qa index`)
    build_seconds: float
    updated_at: str = ""  # of the last addition, removal or compaction, if any
    next_chunk_id: int  # chunk ids are never reused, so a removed chunk cannot come back as another
    problems: list[CorpusProblem] = []

    def corpus_changed(self, corpus_dir: Path) -> bool:
        """Whether the articles in corpus_dir differ from those the index was built from.

        Names, sizes and modification times are compared first, so an unchanged corpus costs
        a directory listing; only when they differ (or were not recorded) are the articles
        read and fingerprinted, so a file touched or copied but not changed is not reported.
        """
        if self.corpus_files and file_stamps(corpus_dir) == self.corpus_files:
            return False
        return load_corpus(corpus_dir).fingerprint() != self.corpus_fingerprint


class Manifest(BuildRecord):
    """Everything needed to decide whether an index on disk can answer questions now."""

    format_version: int = FORMAT_VERSION
    segments: list[SegmentRecord]
    next_segment: int
    # One graph searched in place of several full segments' own (qa.merged_dense); empty for most indexes.
    merged_dense: list[MergedDenseRecord] = []
    # Required: a manifest without its file list cannot vouch for the files beside it.
    files: dict[str, FileRecord] = Field(min_length=1)

    def save(self, folder: Path) -> None:
        """Write manifest.json into folder."""
        (folder / MANIFEST_FILE).write_text(self.model_dump_json(indent=2), "utf-8")

    @classmethod
    def load(cls, folder: Path) -> "Manifest":
        """Read and validate manifest.json from folder."""
        path = folder / MANIFEST_FILE
        try:
            stat = path.stat()
        except OSError:
            raise IndexMissingError(f"no index in {folder} (no {MANIFEST_FILE}); build one with `qa index`") from None
        # A manifest file is written once, in a new folder, for one generation: the same file (device,
        # inode, size, time) is the same manifest, and a writer and a server read it several times per write.
        # The object returned is shared: read-only (a writer builds the next one from model_dump()).
        key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
        with _cache_lock:
            cached = _cache.get(key)
        if cached is not None:
            return cached
        manifest = cls._read(folder, path)
        with _cache_lock:
            _cache.clear()  # one entry: the generation being read now
            _cache[key] = manifest
        return manifest

    @classmethod
    def _read(cls, folder: Path, path: Path) -> "Manifest":
        try:
            text = path.read_text("utf-8")
            try:
                manifest = cls.model_validate_json(text)  # pydantic's own parser: a third of json + validate at 1M chunks
            except ValidationError:
                manifest = None
            data = json.loads(text) if manifest is None or manifest.format_version != FORMAT_VERSION else {}
            version = data.get("format_version") if isinstance(data, dict) else None
            if version is not None and version != FORMAT_VERSION:  # an older layout, not damage: say so
                raise IndexMismatchError(
                    f"{folder} has index format {version}, this version reads {FORMAT_VERSION}; "
                    "rebuild it with `qa index`"
                )
            return manifest if manifest is not None else cls.model_validate(data)
        except (ValidationError, ValueError) as error:
            raise IndexMismatchError(f"{path} is damaged ({error.__class__.__name__}); rebuild with `qa index`") from error

    def check_encoder(self, name: str, dim: int | None = None) -> None:
        """Refuse a question encoder other than the one the vectors were made with."""
        if name != self.encoder:
            raise IndexMismatchError(
                f"the index was built with encoder {self.encoder!r} but {name!r} was asked for; "
                f"rebuild with `qa index --model {name}`, or use --model {self.encoder} / QA_EMBED_MODEL={self.encoder}"
            )
        if dim is not None and dim != self.dim:
            raise IndexMismatchError(
                f"encoder {name!r} gives {dim}-dimensional vectors but the index holds {self.dim}; rebuild with `qa index`"
            )

    def check_files(self, folder: Path, hashes: bool = True, trusted: set[str] = frozenset(), full: bool = False) -> None:
        """Refuse missing, truncated or altered index files.

        Every file's size is checked. With hashes, a file whose modification time differs from the
        one recorded (edited in place, or copied without its times) is hashed and compared; full
        hashes every file (`qa verify`). Files in trusted (already verified) are only sized.
        """
        for name, record in self.files.items():
            path = folder / name
            try:
                stat = path.stat()
            except OSError:
                stat = None
            if stat is None or not path.is_file() or stat.st_size != record.size:
                raise IndexMismatchError(f"index file {path} is missing or damaged; rebuild with `qa index`")
            if name in trusted or not (full or (hashes and stat.st_mtime_ns != record.mtime_ns)):
                continue
            if sha256_file(path) != record.sha256:
                raise IndexMismatchError(f"index file {path} is missing or damaged; rebuild with `qa index`")


def new_generation() -> str:
    """A fresh generation id for a new build."""
    return uuid.uuid4().hex


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record_files(folder: Path, known: dict[str, FileRecord] | None = None) -> dict[str, FileRecord]:
    """Size and hash of every file under folder, by relative path; files in known keep their record unread."""
    known = known or {}
    records = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and name != MANIFEST_FILE:
            if name in known:
                records[name] = known[name]
            else:
                stat = path.stat()
                records[name] = FileRecord(size=stat.st_size, sha256=sha256_file(path), mtime_ns=stat.st_mtime_ns)
    return records

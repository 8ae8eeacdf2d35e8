"""The local backend: the index as FAISS + bm25s + SQLite segments in one folder (qa.index, qa.writer).

This is the index as it was before backends existed, unchanged: the backend only
names its entry points (build_index, HybridIndex.load, IndexWriter, the
segmented store) and the folder checks a server makes to follow rebuilds.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Hashable
from contextlib import contextmanager
from pathlib import Path

from qa.backends.base import Backend, LoadedIndex, Target
from qa.building import build_index
from qa.corpus import Corpus
from qa.deletions import Deletions
from qa.encoders import Encoder
from qa.folders import clean_leftovers
from qa.index import HybridIndex
from qa.manifest import MANIFEST_FILE, IndexProblem, Manifest
from qa.segmented import SegmentedStore
from qa.store import ArticleInfo
from qa.writer import IndexWriter


def _stat(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def folder_signature(folder: Path, manifest: Manifest) -> tuple:
    """What changes when the folder is rebuilt, removed or has a file replaced: stats, no file contents."""
    return (_stat(folder), _stat(folder / MANIFEST_FILE), tuple(_stat(folder / name) for name in sorted(manifest.files)))


class LocalBackend(Backend):
    """Indexes as folders of segments on this machine."""

    name = "local"

    def _folder(self, target: Target | None) -> Path:
        return Path(target if target is not None else self.settings.index_dir)

    def location(self, target: Target | None = None) -> str:
        return str(self._folder(target))

    def build(self, corpus: Corpus | str | Path, target: Target | None = None, progress: bool = True) -> Manifest:
        return build_index(corpus, self._folder(target), self.settings, progress=progress)

    def load(self, target: Target | None = None, reuse: LoadedIndex | None = None) -> HybridIndex:
        return HybridIndex.load(self._folder(target), self.settings.embed_model, reuse=reuse,
                                mmap=self.settings.mmap_index)

    def writer(self, target: Target | None = None, encoder: Encoder | None = None, progress: bool = False) -> IndexWriter:
        return IndexWriter(self._folder(target), self.settings, encoder=encoder, progress=progress)

    def listing(self, target: Target | None = None) -> tuple[list[ArticleInfo], str]:
        folder = self._folder(target)
        manifest = Manifest.load(folder)
        articles = SegmentedStore.open(folder, manifest.segments, Deletions.load(folder)).articles()
        segments = len(manifest.segments)
        return articles, (f"{manifest.articles} articles, {manifest.chunks} chunks in {segments} "
                          f"segment{'s' if segments != 1 else ''}")

    def signature(self, index: LoadedIndex) -> Hashable:
        return folder_signature(Path(index.folder), index.manifest)

    def changed(self, index: LoadedIndex, verify: bool = True) -> bool:
        folder = Path(index.folder)
        if not folder.is_dir():
            raise IndexProblem(f"the index folder {folder} has gone")
        manifest = Manifest.load(folder)
        if manifest.generation == index.manifest.generation:
            manifest.check_files(folder, hashes=verify)
            return False
        return True

    def exists(self, target: Target | None = None) -> bool:
        folder = self._folder(target)
        if not folder.exists():
            clean_leftovers(folder)  # a crash between the two renames of a swap left the index set aside
        return (folder / MANIFEST_FILE).is_file()

    def state_folder(self, target: Target | None = None) -> Path:
        # Beside the index folder, like its lock file: the folder itself is replaced by every write.
        folder = self._folder(target).resolve()
        return folder.parent / f".{folder.name}.state"

    def stamp(self, target: Target) -> Hashable:
        # Every write swaps a new folder into place: the same inode before and after a load means
        # the load read one generation, not two across a swap.
        return os.stat(target).st_ino

    @contextmanager
    def scratch(self):
        with tempfile.TemporaryDirectory(prefix="qa-eval-") as folder:
            yield Path(folder) / "index"

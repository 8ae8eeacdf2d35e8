"""The Milvus backend: the index in Milvus collections, in a Milvus Lite file or on a Milvus server or cluster.

``QA_BACKEND=milvus`` with ``QA_MILVUS_URI`` (``./milvus.db`` for Milvus Lite, or
``http://host:19530``), ``QA_MILVUS_TOKEN`` and ``QA_MILVUS_COLLECTION`` (the base
name, default ``qa``). The collections are described in
qa.backends.milvus.schema; building, loading and writing in the modules beside it.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable
from contextlib import contextmanager
from pathlib import Path

from qa.backends.base import Backend, LoadedIndex, Target
from qa.backends.milvus.build import build_milvus, drop_unused
from qa.backends.milvus.connection import connect, is_lite, resolved_uri
from qa.backends.milvus.index import MilvusIndex, MilvusStore
from qa.backends.milvus.manifest import MilvusManifest, read_manifest
from qa.backends.milvus.schema import meta_name
from qa.backends.milvus.writer import MilvusWriter
from qa.corpus import Corpus
from qa.encoders import Encoder, load_encoder
from qa.manifest import IndexMismatchError, IndexProblem
from qa.store import ArticleInfo


class MilvusBackend(Backend):
    """Indexes as Milvus collections."""

    name = "milvus"

    def base(self, target: Target | None) -> str:
        """The collections' base name for target: the settings' one for none or the default index folder,
        else target itself, which must then be a valid collection name (`--index NAME`)."""
        if target is None or Path(target) == Path(self.settings.index_dir):
            return self.settings.milvus_collection
        name = str(target)
        if not name.replace("_", "a").isalnum() or not name.isascii() or name[0].isdigit():
            raise ValueError(
                f"with QA_BACKEND=milvus, --index names a collection (letters, digits and _), not {name!r}"
            )
        return name

    def location(self, target: Target | None = None) -> str:
        uri = resolved_uri(self.settings.milvus_uri)
        kind = "Milvus Lite file" if is_lite(uri) else "Milvus at"
        return f"collection {self.base(target)} ({kind} {uri})"

    def build(self, corpus: Corpus | str | Path, target: Target | None = None, progress: bool = True) -> MilvusManifest:
        return build_milvus(corpus, self.base(target), self.settings, progress)

    def load(self, target: Target | None = None, reuse: LoadedIndex | None = None) -> MilvusIndex:
        base = self.base(target)
        client = connect(self.settings)
        manifest = read_manifest(client, base)
        wanted = self.settings.embed_model or manifest.encoder
        if wanted != manifest.encoder:
            raise IndexMismatchError(
                f"the index was built with encoder {manifest.encoder!r} but {wanted!r} was asked for; "
                f"rebuild with `qa index --model {wanted}`, or use QA_EMBED_MODEL={manifest.encoder}"
            )
        if reuse is not None and reuse.encoder.name == manifest.encoder:
            encoder = reuse.encoder
        else:
            encoder = load_encoder(manifest.encoder)
        if encoder.dim != manifest.dim:
            raise IndexMismatchError(
                f"encoder {encoder.name!r} gives {encoder.dim}-dimensional vectors but the index holds {manifest.dim}"
            )
        missing = [name for name in manifest.collections.values() if not client.has_collection(name)]
        if missing:
            raise IndexMismatchError(f"the Milvus index {base} lacks its collections {', '.join(missing)}; "
                                     "rebuild with `qa index`")
        return MilvusIndex(base, client, manifest, encoder, self.settings)

    def writer(self, target: Target | None = None, encoder: Encoder | None = None, progress: bool = False) -> MilvusWriter:
        return MilvusWriter(self.base(target), self.settings, encoder=encoder, progress=progress)

    def listing(self, target: Target | None = None) -> tuple[list[ArticleInfo], str]:
        base = self.base(target)
        client = connect(self.settings)
        manifest = read_manifest(client, base)
        articles = MilvusStore(client, manifest).articles()  # no encoder or search halves loaded
        return articles, f"{manifest.articles} articles, {manifest.chunks} chunks in {self.location(target)}"

    def signature(self, index: LoadedIndex) -> Hashable:
        try:
            return read_manifest(connect(self.settings), str(index.folder)).generation
        except IndexProblem as error:
            return str(error)

    def changed(self, index: LoadedIndex, verify: bool = True) -> bool:
        manifest = read_manifest(connect(self.settings), str(index.folder))
        return manifest.generation != index.manifest.generation

    def one_process_only(self) -> bool:
        return is_lite(self.settings.milvus_uri)  # Milvus Lite locks its data folder for one process

    def state_folder(self, target: Target | None = None) -> Path:
        uri = resolved_uri(self.settings.milvus_uri)
        if is_lite(uri):  # beside the Lite file, like its lock file
            return Path(uri).parent / f".{Path(uri).name}.{self.base(target)}.state"
        return super().state_folder(target) / self.base(target)

    @contextmanager
    def scratch(self):
        base = f"{self.settings.milvus_collection}_scratch_{uuid.uuid4().hex[:8]}"
        try:
            yield base
        finally:
            client = connect(self.settings)
            drop_unused(client, base, set())
            if client.has_collection(meta_name(base)):
                client.drop_collection(meta_name(base))

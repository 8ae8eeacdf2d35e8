"""The manifest of a Milvus index: one row of the meta collection, rewritten by every write.

It says what qa.manifest.Manifest says of a local index (encoder, dimension,
tokenizer, chunk sizes, corpus fingerprint, counts, build time, a generation that
changes with every write) and, in place of segment files, which collections
hold the current build. Rewriting this one row is what switches readers to a
new build; ``version`` counts writes, and ``next_chunk_id`` bounds the chunk ids
a reader of this generation sees (chunk ids are never reused), so a reader
never sees half of a later addition.
"""

from __future__ import annotations

import json

from qa.backends.milvus.connection import ensure_loaded
from qa.backends.milvus.schema import MAX_VARCHAR, meta_name
from qa.manifest import BuildRecord, IndexMismatchError, IndexMissingError

FORMAT_VERSION = 1
MANIFEST_KEY = "manifest"


class MilvusManifest(BuildRecord):
    """Everything needed to decide whether a Milvus index can answer questions now."""

    format_version: int = FORMAT_VERSION
    backend: str = "milvus"
    version: int = 1  # +1 with every write
    collections: dict[str, str]  # "chunks" and "articles" -> the current build's collections
    previous: dict[str, str] = {}  # the build before, kept for readers still on it until the next build
    analyzer: str  # what the BM25 function reads (qa.settings: milvus_analyzer)

    def to_row(self) -> dict:
        """The meta row; what does not fit one VARCHAR is left out (file stamps, then problems), and said so."""
        text = self.model_dump_json()
        if len(text.encode("utf-8")) > MAX_VARCHAR:
            # Without stamps, a stale check reads and fingerprints the corpus instead: slower, same answer.
            text = self.model_copy(update={"corpus_files": {}}).model_dump_json()
        if len(text.encode("utf-8")) > MAX_VARCHAR:
            kept = self.problems[:50]
            text = self.model_copy(update={"corpus_files": {}, "problems": kept}).model_dump_json()
        return {"key": MANIFEST_KEY, "manifest": text, "placeholder": [0.0, 0.0]}


def read_manifest(client, base: str) -> MilvusManifest:
    """The manifest of the index named base; IndexMissingError when there is none."""
    name = meta_name(base)
    if not client.has_collection(name):
        raise IndexMissingError(f"no index in Milvus collection {name}; build one with `qa index` (QA_BACKEND=milvus)")
    ensure_loaded(client, name)
    rows = client.query(name, filter=f'key == "{MANIFEST_KEY}"', output_fields=["manifest"])
    if not rows:
        raise IndexMissingError(f"no index in Milvus collection {name} (no manifest row); build one with `qa index`")
    try:
        data = json.loads(rows[0]["manifest"])
        if data.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"{name} holds index format {data.get('format_version')}, this version reads {FORMAT_VERSION}; "
                "rebuild it with `qa index`"
            )
        manifest = MilvusManifest.model_validate(data)
    except (ValueError, AttributeError) as error:
        raise IndexMismatchError(f"the manifest in {name} is damaged ({error.__class__.__name__}); rebuild with `qa index`") from error
    for collection in manifest.collections.values():
        if client.has_collection(collection):
            ensure_loaded(client, collection)
    return manifest


def write_manifest(client, base: str, manifest: MilvusManifest) -> None:
    """Make manifest the current one (one upsert of one row), and persist it."""
    name = meta_name(base)
    client.upsert(name, [manifest.to_row()])
    client.flush(name)

"""Building a Milvus index: a corpus into a new pair of collections, switched to in one write of the manifest row.

The chunks are made exactly as for a local index (qa.analysis.segment_content:
chunking, jieba tokens and tags, the encoder's vectors), then written into the
collections of a new generation. Only when both are written and flushed does
the meta row name them, so readers and a crash see the old build or the new one,
never a half-written one. The build before is kept for readers still using it
and dropped by the next build, with anything a crashed build left.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

from pymilvus import MilvusClient

from qa.analysis import segment_content
from qa.backends.milvus.connection import connect, is_lite
from qa.backends.milvus.locking import write_lock
from qa.backends.milvus.manifest import MilvusManifest, read_manifest, write_manifest
from qa.backends.milvus.rows import article_rows, chunk_rows
from qa.backends.milvus.schema import create_articles, create_chunks, create_meta, generation_names, meta_name
from qa.commit import now
from qa.corpus import Corpus, file_stamps, load_corpus
from qa.duplicates import drop_repeated_articles
from qa.encoders import load_encoder
from qa.manifest import IndexProblem, new_generation
from qa.segment import SegmentContent
from qa.settings import Settings
from qa.tokenization import TOKENIZER_NAME

log = logging.getLogger(__name__)

INSERT_BATCH = 500  # rows per insert: 500 chunks with 512-d vectors are about 2 MB, far under gRPC's limits


def insert(client: MilvusClient, collection: str, rows: list[dict]) -> None:
    """Insert rows in batches."""
    for start in range(0, len(rows), INSERT_BATCH):
        client.insert(collection, rows[start:start + INSERT_BATCH])


def write_content(client: MilvusClient, names: dict[str, str], content: SegmentContent, analyzer: str,
                  version: int) -> None:
    """Insert the chunks, then the articles, of content, and flush them (sealed segments search fastest)."""
    insert(client, names["chunks"], chunk_rows(content, analyzer))
    insert(client, names["articles"], article_rows(content, version))
    client.flush(names["chunks"])
    client.flush(names["articles"])


def drop_unused(client: MilvusClient, base: str, keep: set[str]) -> None:
    """Drop the build collections of base other than keep: older builds, and what crashed builds left."""
    pattern = re.compile(rf"^{re.escape(base)}_[0-9a-f]{{12}}_(chunks|articles)$")
    for name in client.list_collections():
        if pattern.match(name) and name not in keep:
            client.drop_collection(name)


def build_milvus(corpus: Corpus | str | Path, base: str, settings: Settings, progress: bool = True) -> MilvusManifest:
    """Index corpus (a Corpus or a folder) into Milvus as the new build of base, replacing the current one."""
    started = time.perf_counter()
    if isinstance(corpus, Corpus):
        corpus_dir, corpus_files = "", {}
    else:
        corpus_dir, corpus_files = str(corpus), file_stamps(corpus)
    client = connect(settings)
    with write_lock(settings, base):
        if not isinstance(corpus, Corpus):
            corpus = load_corpus(corpus)
        articles, repeated = drop_repeated_articles(corpus.articles)
        problems = corpus.problems + repeated
        if not articles:
            for problem in problems:
                log.warning("%s: %s", problem.path, problem.message)
            raise ValueError(f"no readable articles (.txt, .md) in {corpus_dir or 'the corpus'}")
        encoder = load_encoder(settings.embed_model)
        built_at = now()
        content, repeated_paragraphs = segment_content(
            articles, 0, encoder, settings, {a.id: built_at for a in articles}, progress
        )
        problems += repeated_paragraphs
        for problem in problems:
            log.warning("%s: %s", problem.path, problem.message)
        create_meta(client, meta_name(base))
        try:
            current = read_manifest(client, base)
        except IndexProblem:
            current = None
        generation = new_generation()
        names = generation_names(base, generation)
        try:
            create_chunks(client, names["chunks"], encoder.dim, settings, is_lite(settings.milvus_uri))
            create_articles(client, names["articles"])
            write_content(client, names, content, settings.milvus_analyzer, version=1)
            manifest = MilvusManifest(
                generation=generation, collections=names, previous=current.collections if current else {},
                encoder=encoder.name, dim=encoder.dim, tokenizer=TOKENIZER_NAME, analyzer=settings.milvus_analyzer,
                dense_index=settings.milvus_dense_index, chunk_max_chars=settings.chunk_max_chars,
                chunk_min_chars=settings.chunk_min_chars, corpus_dir=corpus_dir,
                corpus_fingerprint=corpus.fingerprint(), corpus_files=corpus_files,
                articles=len(articles), chunks=len(content.chunks), built_at=built_at,
                build_seconds=round(time.perf_counter() - started, 3), next_chunk_id=len(content.chunks),
                problems=problems,
            )
            write_manifest(client, base, manifest)
        except BaseException:
            for name in names.values():  # the old build stays current; nothing of the new one is left
                if client.has_collection(name):
                    client.drop_collection(name)
            raise
        drop_unused(client, base, set(names.values()) | set(manifest.previous.values()))
    return manifest

"""Settings: every tunable in one place, read from ``QA_*`` environment variables.

``get_settings()`` is cached so the whole process sees one object; tests and the
server override it (FastAPI's ``dependency_overrides`` or ``get_settings.cache_clear()``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from qa.encoders import DEFAULT_ENCODER

MAX_TOP_K = 100  # passages one question may ask for


class Settings(BaseSettings):
    """Paths, index build choices and question-time knobs."""

    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    corpus_dir: Path = Path("corpus")
    # Data that may be read but never shipped (evaluation corpora, training sets).
    shared_dir: Path = Path("../shared")
    index_dir: Path = Path("index")

    # Where the index lives (qa.backends): "local" (FAISS + bm25s + SQLite files in index_dir) or "milvus"
    # (collections in the Milvus at milvus_uri: a Milvus Lite file such as ./milvus.db, or a server's URI).
    backend: Literal["local", "milvus"] = "local"
    milvus_uri: str = "milvus.db"
    milvus_token: SecretStr | None = None  # "user:password" or an API key, for a server that asks for one
    # Base name of the collections (NAME_meta, and one NAME_<generation>_chunks/_articles pair per build).
    milvus_collection: str = Field("qa", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,150}$")
    # The text Milvus's BM25 function reads: "tokens" = our jieba tokens joined by spaces (the same
    # terms as bm25s), "jieba" = the chunk text cut by Milvus's own jieba analyzer. Chosen by recall
    # on the CMRC 2018 trial (eval/milvus.md).
    milvus_analyzer: Literal["tokens", "jieba"] = "tokens"
    # Dense index of the chunks collection: HNSW scales to millions of chunks per segment; FLAT is exact.
    milvus_dense_index: Literal["HNSW", "IVF_FLAT", "FLAT"] = "HNSW"

    # Index build; recorded in the manifest, which loading checks.
    embed_model: str = DEFAULT_ENCODER
    dense_index: Literal["auto", "flat", "hnsw", "ivf"] = "auto"
    chunk_max_chars: int = Field(300, ge=50)
    chunk_min_chars: int = Field(40, ge=0)
    encode_batch_size: int = Field(64, ge=1)
    # A full build writes a segment per this many chunks (give or take a piece of 5,000): build memory stays that of one segment
    # (about 2.3 GB at 100,000 chunks, bench/RESULTS.md) whatever the corpus size.
    segment_max_chunks: int = Field(100_000, ge=1)
    # Load the index's FAISS and bm25s files memory-mapped (the local backend): the worker processes
    # of a server then share one copy in the page cache instead of each holding its own.
    mmap_index: bool = True

    # Adding and removing articles (qa.writer).
    max_document_bytes: int = Field(1_000_000, ge=1)  # a larger file is refused, by name
    max_upload_bytes: int = Field(20_000_000, ge=1024)  # one upload request to /api/documents, all files together
    write_wait_seconds: float = Field(10.0, ge=0)  # how long a writer waits for another before "busy"
    # Compaction merges the segments into one when there are more than this many, or when this share
    # of the chunks has been removed (removed chunks cost search time until then).
    compact_segments: int = Field(16, ge=1)
    compact_removed_share: float = Field(0.25, gt=0, le=1)

    # Retrieval.
    # Chosen on the news dev split: reading 3 passages beat 5 (EM 0.392 vs 0.381, F1 0.592 vs 0.572)
    # and costs the reader 40% less time.
    top_k: int = Field(3, ge=1, le=MAX_TOP_K)
    candidates: int = Field(30, ge=1, le=1000)
    # Chosen with eval/fusion_sweep.py; see eval/RESULTS.md.
    fusion: Literal["rrf", "weighted", "bm25", "dense"] = "weighted"
    dense_weight: float = Field(0.2, ge=0.0, le=1.0)
    rrf_k: int = Field(60, ge=1)
    # BM25 searched, and the reader's analysis of the question made, in threads while the question is
    # encoded and FAISS searched (FAISS releases the GIL for its whole search, the encoder between its
    # numpy calls only; qa.background). None (auto): in threads from
    # qa.retriever.PARALLEL_FROM_CHUNKS chunks and on Milvus; below, from qa.retriever.WORK_DURING_SEARCH_FROM_CHUNKS,
    # BM25 and then the analysis in a thread during the FAISS search, on the question's thread under that. false:
    # all on the question's thread.
    parallel_retrieval: bool | None = None
    # The reader's members read a question's passages at once, in threads (ONNX Runtime releases the GIL),
    # when no other question is being read at the time (qa.answer.graph); else one after the other on the
    # question's thread. None (auto): in threads when the machine has more than one core (reads_in_parallel).
    parallel_reading: bool | None = None
    # At warm-up (server start, `qa bench`) the index's files are read once into the OS page cache when they
    # total at most this many MB, so that the first questions do not wait on the disk (qa.page_cache); 0: never.
    # 1,024 MB holds an index of about 170,000 chunks (100,006 chunks take 595 MB on disk, a million 8.7 GB).
    page_cache_mb: int = Field(1024, ge=0)

    # Answers.
    # None: the threshold saved with the reader, chosen on the dev split (eval/train_reader.py).
    abstain_threshold: float | None = Field(None, ge=0.0, le=1.0)
    reranker_model: str | None = None
    reader_model: str | None = None

    # Conversations (qa.conversation_store): "sqlite" keeps them in a file of the state folder that every
    # worker process of a server shares (a follow-up may reach another worker); "memory" in the process,
    # for one worker only.
    conversation_store: Literal["sqlite", "memory"] = "sqlite"
    max_conversations: int = Field(1000, ge=1)
    conversation_ttl_seconds: int = Field(3600, ge=1)
    max_question_chars: int = Field(500, ge=1)
    max_turns: int = Field(20, ge=1)  # turns kept per conversation; only the last one is used

    # The server (see qa/api/security.py and qa/serving.py).
    # Worker processes of `qa serve`, each with the index and models loaded once; None: one per core.
    workers: int | None = Field(None, ge=1, le=64)
    # What a server keeps beside its index for all its workers (the conversations); None: the folder
    # `.NAME.state` beside the index folder NAME (qa.backends: Backend.state_folder).
    state_dir: Path | None = None
    max_body_bytes: int = Field(64 * 1024, ge=1024)
    # Host headers answered; anything else is refused, so a DNS-rebinding page cannot read the API.
    allowed_hosts: Annotated[list[str], NoDecode] = ["127.0.0.1", "localhost", "::1"]
    # Origins allowed to call the API from their pages (CORS); none by default.
    cors_origins: Annotated[list[str], NoDecode] = []
    header_timeout_seconds: float = Field(10.0, gt=0)
    # How often, at most, the server looks at the index folder for a rebuilt or damaged index.
    index_check_seconds: float = Field(1.0, ge=0)

    @field_validator("allowed_hosts", "cors_origins", mode="before")
    @classmethod
    def _comma_separated(cls, value):
        """QA_ALLOWED_HOSTS=a,b and QA_CORS_ORIGINS=https://x,https://y read as lists."""
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    # When set, the OpenAI-compatible API (/v1) needs `Authorization: Bearer <key>`, and the document
    # write routes (add, replace, remove) need it as `X-API-Key: <key>` or Bearer; when not set, those
    # write routes are disabled.
    api_key: SecretStr | None = None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()


def default_workers() -> int:
    """Worker processes when QA_WORKERS and --workers say nothing: one per core."""
    return os.cpu_count() or 1


def environment(settings: Settings) -> dict[str, str | None]:
    """The QA_* environment variables that make Settings() in another process equal settings (None: unset
    the variable), so that worker processes started by name, not handed objects, get the same settings."""
    variables: dict[str, str | None] = {}
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if value is None:
            text = None
        elif isinstance(value, list):
            text = ",".join(value)  # the comma-separated form _comma_separated reads
        elif isinstance(value, bool):
            text = "true" if value else "false"
        else:
            text = str(value)
        variables[f"QA_{name.upper()}"] = text
    return variables


def reads_in_parallel(settings: Settings) -> bool:
    """Whether the reader's members read at once: as the settings say, else (auto) when there is more than
    one core. Why: reading takes about 2.2 ms in two threads against 3.6 ms in one (qa.answer.graph)."""
    if settings.parallel_reading is not None:
        return settings.parallel_reading
    return (os.cpu_count() or 1) > 1

"""Settings: every tunable in one place, read from ``QA_*`` environment variables.

``get_settings()`` is cached so the whole process sees one object; tests and the
server override it (FastAPI's ``dependency_overrides`` or ``get_settings.cache_clear()``).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from qa.encoders import DEFAULT_ENCODER


class Settings(BaseSettings):
    """Paths, index build choices and question-time knobs."""

    model_config = SettingsConfigDict(env_prefix="QA_", extra="ignore")

    corpus_dir: Path = Path("corpus")
    # Data that may be read but never shipped (evaluation corpora, training sets).
    shared_dir: Path = Path("../shared")
    index_dir: Path = Path("index")

    # Index build; recorded in the manifest, which loading checks.
    embed_model: str = DEFAULT_ENCODER
    dense_index: Literal["flat", "hnsw", "ivf"] = "flat"
    chunk_max_chars: int = Field(300, ge=50)
    chunk_min_chars: int = Field(40, ge=0)
    encode_batch_size: int = Field(64, ge=1)

    # Retrieval.
    # Chosen on the news dev split: reading 3 passages beat 5 (EM 0.392 vs 0.381, F1 0.592 vs 0.572)
    # and costs the reader 40% less time.
    top_k: int = Field(3, ge=1, le=100)
    candidates: int = Field(30, ge=1, le=1000)
    # Chosen with eval/fusion_sweep.py; see eval/RESULTS.md.
    fusion: Literal["rrf", "weighted", "bm25", "dense"] = "weighted"
    dense_weight: float = Field(0.2, ge=0.0, le=1.0)
    rrf_k: int = Field(60, ge=1)

    # Answers.
    # None: the threshold saved with the reader, chosen on the dev split (eval/train_reader.py).
    abstain_threshold: float | None = Field(None, ge=0.0, le=1.0)
    reranker_model: str | None = None
    reader_model: str | None = None

    # Conversations.
    max_conversations: int = Field(1000, ge=1)
    conversation_ttl_seconds: int = Field(3600, ge=1)
    max_question_chars: int = Field(500, ge=1)

    # The OpenAI-compatible API (/v1): when set, requests must send `Authorization: Bearer <key>`.
    api_key: SecretStr | None = None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()

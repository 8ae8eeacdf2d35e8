"""Storage backends by name: ``get_backend(settings)`` gives the one ``QA_BACKEND`` chooses.

``local`` keeps the index in files beside the process (qa.backends.local);
``milvus`` keeps it in Milvus, a Milvus Lite file or a server (qa.backends.milvus),
imported only when chosen, so the local backend needs no Milvus client installed.
The interface both implement is in qa.backends.base.
"""

from __future__ import annotations

from qa.backends.base import Backend
from qa.settings import Settings

BACKENDS = ("local", "milvus")


def get_backend(settings: Settings) -> Backend:
    """The backend the settings name."""
    if settings.backend == "local":
        from qa.backends.local import LocalBackend

        return LocalBackend(settings)
    if settings.backend == "milvus":
        from qa.backends.milvus import MilvusBackend

        return MilvusBackend(settings)
    raise ValueError(f"unknown backend {settings.backend!r}; choose one of {', '.join(BACKENDS)}")

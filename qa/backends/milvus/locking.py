"""One writer at a time per Milvus index.

Within a process, a lock per URI and base name. A Milvus Lite file can be open in
only one process at a time anyway (its data folder is locked), but a lock file
beside it also makes a second `qa add` wait its turn rather than fail. Milvus has
no lock a client could take across machines: against a server, writers of one
index should be one process (the server's document API, or one `qa` at a time);
each write also checks, before it commits, that the manifest is still the one it
started from, and reports the index busy if not (qa.backends.milvus.writer).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from qa.backends.milvus.connection import is_lite, resolved_uri
from qa.commit import IndexBusyError, exclusive
from qa.settings import Settings


@contextmanager
def write_lock(settings: Settings, base: str):
    """Hold the index's writer lock, or IndexBusyError after settings.write_wait_seconds."""
    uri = resolved_uri(settings.milvus_uri)
    wait = settings.write_wait_seconds
    busy = IndexBusyError(
        f"another writer is changing the Milvus index {base} at {uri} (a `qa add`, `qa remove`, `qa index` or an "
        f"upload); waited {wait:g} s. Try again when it has finished"
    )
    lock_file = Path(uri).parent / f".{Path(uri).name}.{base}.lock" if is_lite(uri) else None
    with exclusive((uri, base), lock_file, wait, busy):
        yield

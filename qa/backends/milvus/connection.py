"""One Milvus client per URI and token in a process, and whether the URI is a Milvus Lite file.

``QA_MILVUS_URI`` is either a local file path ending in ``.db`` (Milvus Lite:
pymilvus starts an embedded server over that file inside this process) or a
server's address (``http://host:19530``, a Zilliz Cloud endpoint); the rest of the
code is the same for both, so moving from Lite to a cluster is changing the URI.
"""

from __future__ import annotations

import threading
from pathlib import Path

from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from qa.commit import IndexBusyError
from qa.settings import Settings

_clients: dict[tuple[str, str], MilvusClient] = {}
_guard = threading.Lock()


def is_lite(uri: str) -> bool:
    """Whether uri names a Milvus Lite file rather than a server (pymilvus's own rule: a path ending in .db)."""
    return "://" not in uri and uri.endswith(".db")


def resolved_uri(uri: str) -> str:
    """The URI with a Lite file's path made absolute, so the same file is one key whatever the current folder."""
    return str(Path(uri).resolve()) if is_lite(uri) else uri


def connect(settings: Settings) -> MilvusClient:
    """The client for the settings' URI and token, made once per process.

    A Lite file can be open in one process at a time (its data folder is locked), and
    starting its embedded server costs about half a second: every engine, writer and
    evaluation in the process shares the one client.
    """
    uri = resolved_uri(settings.milvus_uri)
    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    with _guard:
        client = _clients.get((uri, token))
        if client is None:
            if is_lite(uri):
                Path(uri).parent.mkdir(parents=True, exist_ok=True)
            try:
                client = MilvusClient(uri=uri, token=token)
            except MilvusException as error:
                if not is_lite(uri):
                    raise
                # Milvus Lite locks its data folder (flock in milvus_lite/db.py) for the process that opened
                # it; a second process gets "Open local milvus failed".
                raise IndexBusyError(
                    f"cannot open the Milvus Lite file {uri} ({error.message}); a Lite file is open in one process "
                    "at a time: is `qa serve` using it? Add and remove articles through that server's API, or "
                    "use a Milvus server (QA_MILVUS_URI=http://...)"
                ) from error
            _clients[(uri, token)] = client
        return client


def ensure_loaded(client: MilvusClient, name: str) -> None:
    """Load a collection into memory unless it is: Milvus Lite opens a file with every collection
    released ("Collection ... is in state 'released'; call load() before search/get/query"), a
    server keeps what was loaded across restarts."""
    state = client.get_load_state(name).get("state")
    if str(state).rsplit(".", 1)[-1] != "Loaded":
        client.load_collection(name)

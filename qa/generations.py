"""Index generations: a server follows its index folder, switching to a rebuilt index whole.

Every build writes a new folder with a new manifest ``generation`` and swaps it
into place (qa.index, qa.folders). ``LiveEngine`` holds the engine a server
answers with. Between requests, at most every ``index_check_seconds``, it stats
the index folder and the files its manifest lists (no reading); when anything
changed, a background thread looks closer:

* a new generation is loaded completely (files verified, models warmed up) and
  then swapped in under a lock; a request takes one engine at its start and
  uses it to the end, so no answer ever mixes two indexes;
* a folder that has gone, or whose files no longer match the manifest, or a new
  generation that cannot be loaded, leaves the loaded engine serving, and
  ``status()`` says "degraded" with the reason until the folder is whole again.

A new generation is loaded with the serving engine's segments, encoder and
reader reused where unchanged, so following an addition (from ``qa add`` or
from this server's own upload, which calls ``refresh()`` before replying) costs
what the addition wrote.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from qa.backends import get_backend
from qa.engine import Engine
from qa.heap import settle
from qa.manifest import IndexProblem
from qa.settings import Settings

log = logging.getLogger(__name__)

# Loading retries when the folder is swapped again while a generation is being loaded.
LOAD_ATTEMPTS = 3


@dataclass(frozen=True)
class IndexStatus:
    """Whether the index being served is the one in its folder, and if not, why."""

    status: str  # "ok" or "degraded"
    reason: str | None = None


class LiveEngine:
    """The engine a server answers with, following its index folder across rebuilds."""

    def __init__(self, engine: Engine, settings: Settings):
        self.settings = settings
        # How the index is watched: folder stats (local) or the manifest row (Milvus); see qa.backends.
        self.backend = get_backend(settings)
        self.folder = engine.index.folder
        self._engine = engine
        self._signature = self.backend.signature(engine.index)
        self._reason: str | None = None
        self._lock = threading.Lock()
        self._next_check = time.monotonic() + settings.index_check_seconds
        self._checking = False
        self._loading = threading.Lock()  # one generation load at a time (follower thread or refresh)

    def current(self) -> Engine:
        """The engine for one request, after a look at the folder if none was taken recently."""
        if time.monotonic() >= self._next_check:
            self._look()
        return self._engine

    def status(self) -> IndexStatus:
        """"ok" while the loaded generation is the one in the folder, else "degraded" and why."""
        self.current()
        reason = self._reason
        return IndexStatus("degraded", reason) if reason else IndexStatus("ok")

    def _look(self) -> None:
        """Start a closer look in the background when the folder's signature changed."""
        with self._lock:
            now = time.monotonic()
            if self._checking or now < self._next_check:
                return
            self._next_check = now + self.settings.index_check_seconds
            signature = self.backend.signature(self._engine.index)
            if signature == self._signature:
                return
            self._checking = True
        threading.Thread(target=self._follow, args=(signature,), name="index-follower", daemon=True).start()

    def _follow(self, signature: tuple) -> None:
        """Swap in a new generation, or record why the folder cannot be served from."""
        try:
            self._reason = self._update()
        except Exception as error:  # anything at all: the loaded engine keeps serving
            log.exception("looking at the index in %s failed", self.folder)
            self._reason = f"the index in {self.folder} could not be checked ({error.__class__.__name__}: {error})"
        finally:
            with self._lock:
                self._signature = signature
                self._checking = False
        if self._reason:
            log.warning("index degraded: %s", self._reason)

    def refresh(self) -> None:
        """Serve the generation now in the folder before returning (after this process wrote it)."""
        reason = self._update(hash_unchanged=False)
        with self._lock:
            self._reason = reason
            self._signature = self.backend.signature(self._engine.index)
        if reason:
            log.warning("index degraded: %s", reason)

    def _update(self, hash_unchanged: bool = True) -> str | None:
        """Load and swap in a new generation; returns why the folder cannot be served from, or None.

        hash_unchanged: when the generation is the one served, hash its files to find damage (a
        follower that saw the folder's stats change); a refresh after our own write only sizes them.
        """
        with self._loading:
            serving = self._engine.index.manifest
            still = f"still serving the index built at {serving.built_at} (generation {serving.generation[:8]})"
            try:
                if not self.backend.changed(self._engine.index, verify=hash_unchanged):
                    return None
                engine = self._load_generation()
            except IndexProblem as error:
                return f"{error}; {still}"
            with self._lock:
                self._engine = engine
            settle()  # the new generation's objects out of full collections, the last one's cycles collected
            log.info("now serving generation %s of %s", engine.index.manifest.generation[:8], self.folder)
            return None

    def _load_generation(self) -> Engine:
        """A loaded engine of the folder as it is, loaded from one folder (not across a swap), sharing what is unchanged."""
        for _ in range(LOAD_ATTEMPTS):
            before = self.backend.stamp(self.folder)
            engine = Engine.load(self.folder, self.settings, reuse=self._engine)
            if self.backend.stamp(self.folder) == before:
                return engine
        raise IndexProblem(f"the index in {self.folder} kept changing while it was loaded")

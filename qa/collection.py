"""The articles a server answers from, changed in place: writes, then the new generation served at once.

``Collection`` is what the document routes call. A write goes through
qa.writer with the encoder the server already holds; before the reply, the
server switches to the generation the write made (``LiveEngine.refresh``), so
an article's facts are answerable as soon as its upload returns, and gone as
soon as its removal returns. When a write leaves many segments or removed
chunks, compaction runs in a background thread, holding the writer lock like
any writer, and the server follows it when it is done.

A server of several worker processes has one Collection per worker. Their writes
are serialised by the writer lock (a file beside the index), and each worker
follows the generations the others write (``LiveEngine``: within
``QA_INDEX_CHECK_SECONDS`` plus the time to load what changed). When two workers
find compaction due, both start it; it runs once: the writer lock lets one
compact at a time, and each checks under the lock that compaction is still due
(``compact(only_if_due=True)``), so the second finds nothing left to do.
"""

from __future__ import annotations

import logging
import threading

from qa.backends import get_backend
from qa.commit import IndexBusyError
from qa.generations import LiveEngine
from qa.intake import IncomingDocument
from qa.settings import Settings
from qa.writer import WriteReport

log = logging.getLogger(__name__)


class Collection:
    """Add, replace and remove articles of the index a LiveEngine serves."""

    def __init__(self, live: LiveEngine, settings: Settings):
        self.live = live
        self.writer = get_backend(settings).writer(live.folder, encoder=live.current().index.encoder)
        self._compacting = threading.Lock()

    def _served(self, report: WriteReport) -> WriteReport:
        """Serve the new generation, start compaction when due, and return the report."""
        self.live.refresh()
        if report.compaction_due:
            self.compact_in_background()
        return report

    def add(self, documents: list[IncomingDocument]) -> WriteReport:
        """Add documents (the bad ones reported) and serve the result before returning."""
        return self._served(self.writer.add(documents))

    def replace(self, article_id: str, document: IncomingDocument) -> WriteReport:
        """Replace an article and serve the result before returning."""
        return self._served(self.writer.replace(article_id, document))

    def remove(self, article_ids: list[str]) -> WriteReport:
        """Remove articles and serve the result before returning."""
        return self._served(self.writer.remove(article_ids))

    def compact(self) -> WriteReport:
        """Compact now and serve the result before returning."""
        report = self.writer.compact()
        self.live.refresh()
        return report

    def compact_in_background(self) -> threading.Thread | None:
        """Start compaction in a thread unless one runs; the server follows its result."""
        if not self._compacting.acquire(blocking=False):
            return None

        def run() -> None:
            try:
                report = self.writer.compact(only_if_due=True)
                if report is None:
                    log.info("compaction no longer due: another writer compacted the index first")
                    return
                log.info("compacted the index in %.1f s", report.seconds)
                self.live.refresh()
            except IndexBusyError:  # another writer (a compaction elsewhere) held the lock: the next write tries again
                log.info("compaction put off: another writer held the index in %s", self.live.folder)
            except Exception:  # the index stays as it was (qa.commit); the next write tries again
                log.exception("compacting the index in %s failed", self.live.folder)
            finally:
                self._compacting.release()

        thread = threading.Thread(target=run, name="index-compaction", daemon=True)
        thread.start()
        return thread

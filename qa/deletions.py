"""What has been removed from an index since its segments were written: tombstones, applied at question time.

Removing an article does not touch any segment file (they are written once,
qa.segment): its chunk ids are listed here, and search skips them at once. The
number of deleted chunks holding each BM25 token is kept too, so that document
frequencies, and with them IDF, follow the corpus as it is now. Compaction
(qa.writer) drops the deleted chunks for good and empties this list.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from pydantic import BaseModel

DELETIONS_FILE = "deleted.json"


class Deletions(BaseModel):
    """Chunk ids and articles removed from the segments of one generation."""

    chunks: list[int] = []
    # Segment name -> ids of its articles that were removed (an id may live on in a later segment, as on replace).
    articles: dict[str, list[str]] = {}
    # Token -> how many removed chunks held it, subtracted from the segments' document frequencies.
    token_df: dict[str, int] = {}

    def remove(self, segment: str, article_id: str, chunk_ids: list[int], chunk_tokens: list[list[str]]) -> None:
        """Record an article of a segment as removed, with its chunks and their tokens."""
        self.articles.setdefault(segment, []).append(article_id)
        self.chunks.extend(chunk_ids)
        counts = Counter(self.token_df)
        for tokens in chunk_tokens:
            counts.update(set(tokens))
        self.token_df = dict(counts)

    def removed(self, segment: str, article_id: str) -> bool:
        """Whether this segment's copy of the article was removed."""
        return article_id in self.articles.get(segment, ())

    def save(self, folder: Path) -> None:
        """Write deleted.json into folder."""
        (folder / DELETIONS_FILE).write_text(self.model_dump_json(), "utf-8")

    @classmethod
    def load(cls, folder: Path) -> "Deletions":
        """Read deleted.json from folder (none means nothing was removed)."""
        path = folder / DELETIONS_FILE
        return cls.model_validate_json(path.read_text("utf-8")) if path.is_file() else cls()

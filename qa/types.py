"""The shared data types: chunks, passages and answers, which every layer passes around.

They live in one module that imports nothing else of the package, so lower layers (chunking, the
answer reader) never import higher ones (the index, retrieval, the API) to name
what they receive.
"""

from __future__ import annotations

import bisect

from pydantic import BaseModel, Field


class Chunk(BaseModel):
    """A retrievable piece of an article: one paragraph, part of one, or merged short ones."""

    id: int = -1
    article_id: str
    paragraph: int
    start: int
    end: int
    text: str
    heading: str = ""
    # (position in text, offset in the article) where each contiguous piece begins.
    segments: list[tuple[int, int]]

    def article_offset(self, position: int) -> int:
        """Map a position in this chunk's text to an offset in the article's text."""
        index = bisect.bisect_right([s[0] for s in self.segments], position) - 1
        text_pos, article_pos = self.segments[max(index, 0)]
        return article_pos + position - text_pos


class StoredChunk(Chunk):
    """A chunk as read back, with its part-of-speech words (length, tag), which the answer reader reads."""

    tags: list[tuple[int, str]] = []


class Passage(BaseModel):
    """A retrieved chunk with its fused score and the two scores behind it."""

    chunk: StoredChunk
    rank: int
    score: float
    bm25: float = 0.0
    dense: float = 0.0


class Source(BaseModel):
    """Where an answer sits: article, paragraph and character offsets into the article's text."""

    article_id: str
    title: str
    heading: str = Field("", description="Section heading (e.g. the interview's headline) above the paragraph")
    paragraph: int = Field(description="1-based paragraph number in the article")
    chunk_id: int
    start: int = Field(description="Offset of the answer's first character in the article text")
    end: int = Field(description="Offset just past the answer's last character in the article text")
    sentence_start: int
    sentence_end: int


class PassageInfo(BaseModel):
    """A ranked passage that the answer was looked for in."""

    rank: int
    chunk_id: int
    article_id: str
    title: str
    paragraph: int
    text: str
    score: float
    bm25: float
    dense: float


class Answer(BaseModel):
    """The engine's result for one question."""

    question: str
    answer: str = Field(description="The short answer cut from the text; empty when abstained")
    sentence: str = Field(description="The evidence sentence the answer comes from; empty when abstained")
    answer_in_sentence: tuple[int, int] | None = Field(None, description="(start, end) of the answer in sentence")
    source: Source | None = None
    confidence: float = Field(ge=0.0, le=1.0)
    abstained: bool
    passages: list[PassageInfo] = []
    timings_ms: dict[str, float] = {}

    def marked_sentence(self, before: str = "【", after: str = "】") -> str:
        """The evidence sentence with the answer wrapped in markers."""
        if not self.answer_in_sentence:
            return self.sentence
        start, end = self.answer_in_sentence
        return self.sentence[:start] + before + self.sentence[start:end] + after + self.sentence[end:]

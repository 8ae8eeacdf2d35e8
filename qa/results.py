"""What a question gets back: the answer, its evidence sentence, its source, and the passages used."""

from __future__ import annotations

from pydantic import BaseModel, Field


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
    answer_type: str = ""
    passages: list[PassageInfo] = []
    timings_ms: dict[str, float] = {}

    def marked_sentence(self, before: str = "【", after: str = "】") -> str:
        """The evidence sentence with the answer wrapped in markers."""
        if not self.answer_in_sentence:
            return self.sentence
        start, end = self.answer_in_sentence
        return self.sentence[:start] + before + self.sentence[start:end] + after + self.sentence[end:]

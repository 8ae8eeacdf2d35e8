"""Request and response models of the HTTP API (all of them appear in the OpenAPI schema at /docs)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from qa.intake import Outcome
from qa.types import Answer


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or only whitespace")
    return value.strip()


def request_models(max_question_chars: int) -> tuple[type[BaseModel], type[BaseModel]]:
    """AskRequest and ChatRequest for one app, their text limited to max_question_chars (QA_MAX_QUESTION_CHARS).

    Made per app, not once at import, so that the limit both checked and shown in the
    OpenAPI schema is the app's setting.
    """

    class AskRequest(BaseModel):
        """One question, answered on its own."""

        question: str = Field(min_length=1, max_length=max_question_chars, examples=["徐州缓缴社保多少"])
        top_k: int | None = Field(None, ge=1, le=50, strict=True,
                                  description="Passages the answer is looked for in (default: QA_TOP_K, 3)")

        _strip = field_validator("question")(_not_blank)

    class ChatRequest(BaseModel):
        """One chat message; follow-ups are completed from the conversation."""

        message: str = Field(min_length=1, max_length=max_question_chars, examples=["合同引资总额呢？"])
        conversation_id: str | None = Field(
            None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="From an earlier reply; omit to start a conversation"
        )

        _strip = field_validator("message")(_not_blank)

    return AskRequest, ChatRequest


class ChatResponse(Answer):
    """The answer plus the conversation it belongs to and the question the message was resolved to."""

    conversation_id: str
    resolved_question: str


class Health(BaseModel):
    """Whether the index is loaded, and what it holds.

    status stays "ok" for a stale index: it still answers, from the articles it was built from.
    """

    status: Literal["ok", "degraded"] = Field(
        description='"ok": serving the index in its folder; "degraded": still answering from the index loaded '
        "earlier, because the folder has gone, is damaged or holds an index that cannot be loaded"
    )
    reason: str | None = Field(None, description="Why the status is degraded")
    generation: str = Field(description="Id of the index build being served; changes when the index is rebuilt")
    index_loaded: bool
    articles: int
    chunks: int
    encoder: str
    dim: int
    dense_index: str
    built_at: str
    stale: bool = Field(False, description="The articles in the corpus folder have changed since the index was built")
    warnings: list[str] = Field([], description="What to do about it, e.g. rebuild with `qa index`")


class DocumentInfo(BaseModel):
    """An indexed article."""

    id: str
    title: str
    source: str
    path: str
    chunk_count: int
    added_at: str = Field("", description="When the article was indexed (ISO 8601, UTC)")


class DocumentIn(BaseModel):
    """An article given as text (the JSON form of adding or replacing one)."""

    title: str = Field(min_length=1, max_length=500, examples=["青石镇新闻"])
    text: str = Field(min_length=1, examples=["青石镇今年新建了四十七座风力发电站。"])
    source: str = Field("", max_length=2000)

    _strip = field_validator("title", "text")(_not_blank)


class WriteResult(BaseModel):
    """What a write did: one outcome per file or id (added, replaced, removed, duplicate or rejected, with the reason),
    the index generation now served, and the time taken."""

    outcomes: list[Outcome]
    generation: str
    seconds: float


class ErrorItem(BaseModel):
    """One thing wrong with a request: where (body, field), what, and its kind; never the input itself."""

    loc: list[str | int]
    msg: str
    type: str


class ErrorResponse(BaseModel):
    """What a failed request returns: a message for people, and for invalid input what was wrong where."""

    detail: str
    errors: list[ErrorItem] = []


class DocumentText(DocumentInfo):
    """An indexed article with its full text; answers' character offsets point into text."""

    text: str

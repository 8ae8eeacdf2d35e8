"""Request and response models of the OpenAI-compatible API (``/v1``), in OpenAI's wire format.

Only what an extractive engine can honour is read from a request (model, messages, stream, n);
the other OpenAI parameters (temperature, max_tokens, ...) are accepted and ignored, so
existing clients work unchanged. Every response carries the structured answer in an extra
``answer`` field, which OpenAI clients ignore.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer

from qa.types import Answer


class ContentPart(BaseModel):
    """One part of a message's content; only text parts are read."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    """A message of the conversation; the user's messages are the questions."""

    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    @property
    def text(self) -> str:
        """The message's text, its text parts joined."""
        if isinstance(self.content, list):
            return "".join(part.text or "" for part in self.content if part.type == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """An OpenAI chat completion request: the last user message is the question, earlier user
    messages are the conversation it may follow up on."""

    model: str = Field(examples=["qa-extractive"])
    messages: list[ChatMessage] = Field(
        min_length=1, max_length=200,
        examples=[[{"role": "user", "content": "株洲截至4月底签约了多少个项目？"},
                   {"role": "assistant", "content": "答案：73个"},
                   {"role": "user", "content": "合同引资总额呢？"}]],
    )
    stream: bool = Field(False, strict=True, description="Server-sent events in OpenAI's chunk format, ending with [DONE]")
    n: int = Field(1, ge=1, le=1, strict=True, description="Only one choice: the answer is cut from the text, not sampled")

    @field_validator("messages")
    @classmethod
    def _questions(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        # The length limit of a chat message (QA_MAX_QUESTION_CHARS) is checked by the route, which knows the settings.
        if messages[-1].role != "user":
            raise ValueError("the last message must be the user's question")
        for message in messages:
            if message.role == "user" and not message.text.strip():
                raise ValueError("a user message must have text")
        return messages

    def user_messages(self) -> list[str]:
        """The user's messages in order: the conversation, its last one the question."""
        return [m.text.strip() for m in self.messages if m.role == "user"]


class CompletionAnswer(Answer):
    """The structured answer (as /api/chat gives it) and the question the last message was resolved to."""

    resolved_question: str


class AssistantMessage(BaseModel):
    """The reply: the answer with its evidence and source, or the abstention text."""

    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class Choice(BaseModel):
    """The one choice of a completion."""

    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class ChatCompletion(BaseModel):
    """A complete reply (``stream`` false)."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    answer: CompletionAnswer = Field(description="Not OpenAI's: the structured answer, ignored by OpenAI clients")


class Delta(BaseModel):
    """What one chunk adds to the reply."""

    role: Literal["assistant"] | None = None
    content: str | None = None

    @model_serializer(mode="wrap")
    def _only_what_is_added(self, serialize):
        # A delta names only what it adds ({"content": "..."}, {} at the end), as OpenAI's do.
        return {key: value for key, value in serialize(self).items() if value is not None}


class ChunkChoice(BaseModel):
    """The one choice of a chunk."""

    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None
    logprobs: None = None


class ChatCompletionChunk(BaseModel):
    """One server-sent event of a streamed reply; the last one carries the structured answer."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    answer: CompletionAnswer | None = None


class ModelCard(BaseModel):
    """A model that can be named in a request."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    """The models this server offers."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorDetail(BaseModel):
    """What went wrong, as OpenAI describes it."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None


class OpenAIErrorResponse(BaseModel):
    """OpenAI's error shape."""

    error: ErrorDetail

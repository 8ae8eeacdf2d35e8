"""The OpenAI-compatible API: ``POST /v1/chat/completions`` and ``GET /v1/models``.

Open WebUI, the ``openai`` package and other OpenAI clients can talk to the engine as if it
were a chat model. The messages are the conversation: the last user message is resolved
against the earlier ones exactly as ``/api/chat`` resolves a follow-up, and answered by the
same engine. The reply's content is the answer for people (答案 / 依据 / 来源, or the
abstention text, from ``qa.formatting``); the structured answer rides along in ``answer``.
With ``stream: true`` the reply comes as server-sent events in OpenAI's chunk format.
When ``QA_API_KEY`` is set, every route here needs it as ``Authorization: Bearer``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from qa.api.auth import require_api_key
from qa.api.deps import get_engine
from qa.api.openai_errors import OpenAIError, OpenAIRoute
from qa.api.openai_schemas import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionRequest,
    Choice,
    ChunkChoice,
    CompletionAnswer,
    Delta,
    ModelCard,
    ModelList,
    OpenAIErrorResponse,
)
from qa.conversation import resolve_history
from qa.engine import Engine
from qa.formatting import answer_lines

MODEL_ID = "qa-extractive"
# Blank lines between 答案, 依据 and 来源, so that clients rendering Markdown keep them on lines of their own.
LINE_SEPARATOR = "\n\n"

router = APIRouter(
    prefix="/v1",
    tags=["OpenAI-compatible"],
    route_class=OpenAIRoute,
    dependencies=[Depends(require_api_key)],
    responses={400: {"model": OpenAIErrorResponse}, 401: {"model": OpenAIErrorResponse}, 404: {"model": OpenAIErrorResponse}},
)


def _model_card(engine: Engine) -> ModelCard:
    # "created" is when the index was built: what the model knows dates from then.
    built = datetime.fromisoformat(engine.index.manifest.built_at)
    return ModelCard(id=MODEL_ID, created=int(built.timestamp()), owned_by="qa")


def _check_model(model: str) -> None:
    if model != MODEL_ID:
        raise OpenAIError(404, f"the model '{model}' does not exist; this server offers '{MODEL_ID}'",
                          param="model", code="model_not_found")


@router.get("/models", response_model=ModelList, summary="The models this server offers")
def models(engine: Engine = Depends(get_engine)) -> ModelList:
    """One model: the extractive engine over the loaded index."""
    return ModelList(data=[_model_card(engine)])


@router.get("/models/{model}", response_model=ModelCard, summary="One model")
def model(model: str, engine: Engine = Depends(get_engine)) -> ModelCard:
    """The model with this id, or a 404 in OpenAI's shape."""
    _check_model(model)
    return _model_card(engine)


@router.post(
    "/chat/completions",
    response_model=ChatCompletion,
    summary="Answer the last user message of a conversation",
    # Each server-sent event is {"data": a ChatCompletionChunk as JSON, or "[DONE]"}.
    responses={200: {"content": {"text/event-stream": {"schema": {
        "type": "object", "properties": {"data": {"type": "string"}}, "required": ["data"]}}},
                     "description": "A ChatCompletion, or with stream: ChatCompletionChunk events ending with [DONE]"},
               # Answered before routing (qa.api.body), in OpenAI's error shape (openai_errors.body_error).
               413: {"model": OpenAIErrorResponse, "description": "Request body larger than QA_MAX_BODY_BYTES"}},
)
def chat_completions(request: ChatCompletionRequest, engine: Engine = Depends(get_engine)):
    """The answer to the last user message, earlier user messages resolving a follow-up as in /api/chat."""
    _check_model(request.model)
    limit = engine.settings.max_question_chars
    if any(len(message) > limit for message in request.user_messages()):
        # Every user turn was a chat message once: the same limit as /api/chat.
        raise OpenAIError(400, f"a user message may have at most {limit} characters", param="messages")
    question = resolve_history(request.user_messages())
    try:
        answer = CompletionAnswer(**engine.ask(question).model_dump(), resolved_question=question)
    except ValueError as error:
        raise OpenAIError(400, str(error), param="messages") from error
    lines = answer_lines(answer)
    reply_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
    if request.stream:
        return StreamingResponse(
            _events(reply_id, created, request.model, lines, answer),
            media_type="text/event-stream",
            # No caching, and no buffering by a proxy in front (nginx), so each event is passed on at once.
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    message = AssistantMessage(content=LINE_SEPARATOR.join(lines))
    return ChatCompletion(id=reply_id, created=created, model=request.model, choices=[Choice(message=message)],
                          answer=answer)


async def _events(reply_id: str, created: int, model: str, lines: list[str],
                  answer: CompletionAnswer) -> AsyncIterator[str]:
    """The reply as OpenAI's chunks: the role, one chunk per line of content, the finish with the
    structured answer, then [DONE]. Joined, the contents equal the non-streamed reply's content."""

    def event(delta: Delta, finish_reason: str | None = None, answer: CompletionAnswer | None = None) -> str:
        chunk = ChatCompletionChunk(id=reply_id, created=created, model=model, answer=answer,
                                    choices=[ChunkChoice(delta=delta, finish_reason=finish_reason)])
        return f"data: {chunk.model_dump_json(exclude=None if answer else {'answer'})}\n\n"

    yield event(Delta(role="assistant", content=""))
    for number, line in enumerate(lines):
        yield event(Delta(content=line + (LINE_SEPARATOR if number < len(lines) - 1 else "")))
    yield event(Delta(), "stop", answer)
    yield "data: [DONE]\n\n"


@router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
def unknown(path: str, request: Request) -> None:
    """Any other /v1 path: a 404 in OpenAI's shape rather than FastAPI's."""
    raise OpenAIError(404, f"invalid URL ({request.method} /v1/{path})", code="unknown_url")

"""The JSON API: ask, chat and health (documents: qa.api.documents)."""

# No `from __future__ import annotations` here: FastAPI reads the request models of ask and chat from
# their annotations, which as strings would be looked up in this module, not in api_router.

from fastapi import APIRouter, Depends, HTTPException

from qa.api.deps import get_conversations, get_engine, get_live_engine
from qa.api.schemas import ChatResponse, ErrorResponse, Health, request_models
from qa.conversation import resolve
from qa.conversation_store import ConversationStore, Turn
from qa.engine import Engine
from qa.generations import LiveEngine
from qa.types import Answer


def api_router(max_question_chars: int) -> APIRouter:
    """The /api routes, questions and chat messages limited to max_question_chars (QA_MAX_QUESTION_CHARS)."""
    AskRequest, ChatRequest = request_models(max_question_chars)
    router = APIRouter(
        prefix="/api",
        responses={413: {"model": ErrorResponse, "description": "Request body too large"}, 422: {"model": ErrorResponse}},
    )

    @router.post("/ask", response_model=Answer, summary="Answer one question")
    def ask(request: AskRequest, engine: Engine = Depends(get_engine)) -> Answer:
        """The answer, its evidence sentence and source, the confidence, and the ranked passages used."""
        try:
            return engine.ask(request.question, request.top_k)
        except ValueError as error:
            raise HTTPException(status_code=422, detail=str(error)) from error

    @router.post("/chat", response_model=ChatResponse, summary="One turn of a conversation")
    def chat(
        request: ChatRequest,
        engine: Engine = Depends(get_engine),
        conversations: ConversationStore = Depends(get_conversations),
    ) -> ChatResponse:
        """Answer a chat message; a follow-up is first completed from the conversation's previous question."""
        conversation = conversations.get(request.conversation_id)
        question = resolve(request.message, conversation.last_question)
        try:
            answer = engine.ask(question)
        except ValueError as error:
            raise HTTPException(status_code=422, detail=str(error)) from error
        conversations.add_turn(conversation.id, Turn(message=request.message, question=question, answer=answer.answer))
        return ChatResponse(**answer.model_dump(), conversation_id=conversation.id, resolved_question=question)

    @router.get("/health", response_model=Health, summary="Index status")
    def health(live: LiveEngine = Depends(get_live_engine), engine: Engine = Depends(get_engine)) -> Health:
        """Whether the index is loaded and still the one in its folder ("degraded" and why when not), its size
        and encoder, and whether the corpus has changed since it was built."""
        index = live.status()
        manifest = engine.index.manifest
        return Health(
            status=index.status, reason=index.reason, generation=manifest.generation, index_loaded=True,
            articles=manifest.articles, chunks=manifest.chunks, encoder=manifest.encoder, dim=manifest.dim,
            dense_index=manifest.dense_index, built_at=manifest.built_at,
            stale=engine.stale_warning is not None, warnings=[engine.stale_warning] if engine.stale_warning else [],
        )

    return router

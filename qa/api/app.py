"""The FastAPI application: loads the engine once at start-up, serves the API and the chat page."""

from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from qa import __version__
from qa.api import documents, openai_compat
from qa.api.routes import api_router
from qa.conversation import ConversationStore
from qa.engine import Engine
from qa.settings import Settings, get_settings

WEB = Path(__file__).resolve().parent.parent / "web"


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The application; the engine is loaded at start-up (built from the corpus if there is no index)
    unless one is given, as tests do."""

    current = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.settings = current
        app.state.engine = engine or Engine.load(current.index_dir, current, build_if_missing=True, check_corpus=True)
        app.state.conversations = ConversationStore(current.max_conversations, current.conversation_ttl_seconds)
        yield

    app = FastAPI(
        title="qa — answers from Chinese articles",
        version=__version__,
        description="Extractive question answering over a collection of Chinese articles.",
        lifespan=lifespan,
    )
    app.include_router(api_router(current.max_question_chars))
    app.include_router(documents.router)
    app.include_router(openai_compat.router)
    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(WEB / "index.html")

    return app

"""The FastAPI application: loads the engine once at start-up, serves the API and the chat page.

Around the routes: the request body guard (qa.api.body), error bodies of the
declared shape (qa.api.errors), security headers, allowed hosts and CORS
(qa.api.security), /docs from packaged files (qa.api.docs_page), an engine
that follows its index folder across rebuilds and other processes' writes
(qa.generations), conversations kept where every worker process of the server
finds them (qa.conversation_store, in the state folder beside the index), and
the answering worker's process id on every response (``X-Worker``).
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa import __version__
from qa.api import documents, index_routes, openai_compat, openai_errors
from qa.api.body import BodyGuard
from qa.api.deps import WORKER_HEADER
from qa.api.docs_page import install_docs
from qa.api.errors import install_error_handlers
from qa.api.routes import api_router
from qa.api.security import install_security
from qa.backends import get_backend
from qa.collection import Collection
from qa.conversation_store import open_conversations
from qa.engine import Engine
from qa.generations import LiveEngine
from qa.settings import Settings, get_settings

WEB = Path(__file__).resolve().parent.parent / "web"


class WorkerHeader:
    """ASGI middleware naming, on every response, the worker process that answered (WORKER_HEADER): which
    worker of `qa serve --workers N` served a request, for people following one through the logs."""

    def __init__(self, app: ASGIApp):
        self.app = app
        self.pid = str(os.getpid()).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_worker(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (WORKER_HEADER.encode(), self.pid)]
            await send(message)

        await self.app(scope, receive, send_with_worker)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The application; the engine is loaded at start-up (built from the corpus if there is no index)
    unless one is given, as tests do. Either way it answers a first question before the server
    listens, so no request pays for loading models."""
    current = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.settings = current
        loaded = engine or Engine.load(current.index_dir, current, build_if_missing=True, check_corpus=True)
        loaded.warm_up()
        app.state.live = LiveEngine(loaded, current)
        app.state.collection = Collection(app.state.live, current)
        state = current.state_dir or get_backend(current).state_folder(loaded.index.folder)
        app.state.conversations = open_conversations(current, state)
        try:
            yield
        finally:
            app.state.conversations.close()

    app = FastAPI(
        title="qa — answers from Chinese articles",
        version=__version__,
        description="Extractive question answering over a collection of Chinese articles.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's page loads Swagger UI from a CDN; install_docs serves packaged files
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(api_router(current.max_question_chars))
    app.include_router(documents.router)
    app.include_router(index_routes.router)
    app.include_router(openai_compat.router)
    app.mount("/static", StaticFiles(directory=WEB), name="static")
    install_docs(app)

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(WEB / "index.html")

    app.add_middleware(
        BodyGuard, max_bytes=current.max_body_bytes, responders={"/v1": openai_errors.body_error},
        limits={"/api/documents": current.max_upload_bytes},
    )
    install_security(app, current)
    app.add_middleware(WorkerHeader)
    return app

"""Shared dependencies of the routes: the settings, the engine and the conversation store, set up at start-up."""

from __future__ import annotations

from fastapi import Request, Response

from qa.collection import Collection
from qa.conversation_store import ConversationStore
from qa.engine import Engine
from qa.generations import LiveEngine
from qa.settings import Settings

GENERATION_HEADER = "x-index-generation"
WORKER_HEADER = "x-worker"  # the process id of the worker that answered (qa serve --workers N)


def get_app_settings(request: Request) -> Settings:
    """The settings the application was started with."""
    return request.app.state.settings


def get_live_engine(request: Request) -> LiveEngine:
    """The server's engine holder, which follows the index folder across rebuilds."""
    return request.app.state.live


def get_engine(request: Request, response: Response) -> Engine:
    """The engine for this request, used from its start to its end; the reply names its index generation."""
    engine = get_live_engine(request).current()
    response.headers[GENERATION_HEADER] = engine.index.manifest.generation
    return engine


def get_conversations(request: Request) -> ConversationStore:
    """The conversation store (qa.conversation_store), shared by the server's worker processes."""
    return request.app.state.conversations


def get_collection(request: Request) -> Collection:
    """The server's collection, through which articles are added, replaced and removed."""
    return request.app.state.collection

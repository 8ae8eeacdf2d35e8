"""Shared dependencies of the routes: the engine and the conversation store, set up at start-up."""

from __future__ import annotations

from fastapi import Request

from qa.conversation import ConversationStore
from qa.engine import Engine


def get_engine(request: Request) -> Engine:
    """The engine loaded at start-up."""
    return request.app.state.engine


def get_conversations(request: Request) -> ConversationStore:
    """The in-memory conversation store."""
    return request.app.state.conversations

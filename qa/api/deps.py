"""Shared dependencies of the routes: the settings, the engine and the conversation store, set up at start-up."""

from __future__ import annotations

from fastapi import Request

from qa.conversation import ConversationStore
from qa.engine import Engine
from qa.settings import Settings


def get_app_settings(request: Request) -> Settings:
    """The settings the application was started with."""
    return request.app.state.settings


def get_engine(request: Request) -> Engine:
    """The engine loaded at start-up."""
    return request.app.state.engine


def get_conversations(request: Request) -> ConversationStore:
    """The in-memory conversation store."""
    return request.app.state.conversations

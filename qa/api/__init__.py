"""The HTTP API and chat page: a FastAPI application over the shared engine."""

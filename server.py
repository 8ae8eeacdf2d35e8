"""The web server: ``uvicorn server:app`` (or ``qa serve``) serves the chat page and the JSON API."""

from qa.api.app import create_app

app = create_app()

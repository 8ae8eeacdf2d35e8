"""Error responses: every failure the API reports has the ErrorResponse shape it declares.

FastAPI's own 422 body is a list that echoes the input (a 10 MB question came
back as a 10 MB error). Here invalid input is described by where and what is
wrong, in bounded text, and never repeated.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from qa.api.schemas import ErrorItem, ErrorResponse

MAX_MESSAGE_CHARS = 200
MAX_ERRORS = 10


def _clip(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """text cut to limit characters, with lone surrogates replaced so that it can be encoded."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_response(status_code: int, detail: str, errors: list[ErrorItem] | None = None) -> JSONResponse:
    """A JSON error response of the declared shape."""
    body = ErrorResponse(detail=_clip(detail), errors=errors or [])
    return JSONResponse(body.model_dump(), status_code=status_code)


def _item(error: dict) -> ErrorItem:
    loc = [part if isinstance(part, int) else _clip(str(part), 64) for part in error.get("loc", ())]
    return ErrorItem(loc=loc, msg=_clip(str(error.get("msg", ""))), type=_clip(str(error.get("type", "")), 64))


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 for a body or parameter that does not match the schema, saying where and what, without the input."""
    items = [_item(error) for error in exc.errors()[:MAX_ERRORS]]
    detail = "; ".join(f"{'.'.join(map(str, item.loc[1:] or item.loc))}: {item.msg}" for item in items)
    return error_response(422, detail or "invalid request", items)


def install_error_handlers(app: FastAPI) -> None:
    """Make the app's invalid-input errors ErrorResponse bodies."""
    app.add_exception_handler(RequestValidationError, validation_error)

"""Errors of the OpenAI-compatible API in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``.

OpenAI clients read that shape (``openai.AuthenticationError``, ``BadRequestError``, ...), while
the rest of the API keeps FastAPI's ``{"detail": ...}``. So the ``/v1`` router uses
``OpenAIRoute``, which turns whatever its routes and their dependencies raise (an
``OpenAIError``, an ``HTTPException`` from a shared dependency such as the API key check,
a request that fails validation) into that shape, for those routes only.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from qa.api.openai_schemas import ErrorDetail, OpenAIErrorResponse


class OpenAIError(Exception):
    """A failed request, described the way OpenAI describes it."""

    def __init__(self, status: int, message: str, type: str = "invalid_request_error",
                 param: str | None = None, code: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.headers = status, headers
        self.detail = ErrorDetail(message=message, type=type, param=param, code=code)

    def response(self) -> JSONResponse:
        """The JSON error response."""
        return JSONResponse(OpenAIErrorResponse(error=self.detail).model_dump(), self.status, headers=self.headers)

    @classmethod
    def from_http(cls, error: HTTPException) -> OpenAIError:
        """An HTTPException (from a shared dependency) in OpenAI's terms."""
        code = "invalid_api_key" if error.status_code == 401 else None
        kind = "server_error" if error.status_code >= 500 else "invalid_request_error"
        return cls(error.status_code, str(error.detail), kind, code=code, headers=error.headers)

    @classmethod
    def from_validation(cls, error: RequestValidationError) -> OpenAIError:
        """A request that failed validation: 400, naming the first offending parameter."""
        first = error.errors()[0]
        loc = [part for part in first.get("loc", ()) if part != "body"]
        param = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".") or None
        message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
        if first.get("type") == "json_invalid":
            param, message = None, f"the body is not valid JSON ({first.get('ctx', {}).get('error', '')})"
        return cls(400, f"{param}: {message}" if param else message, param=param)


class OpenAIRoute(APIRoute):
    """A route whose errors come back in OpenAI's shape."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except OpenAIError as error:
                return error.response()
            except RequestValidationError as error:
                return OpenAIError.from_validation(error).response()
            except HTTPException as error:
                return OpenAIError.from_http(error).response()

        return handle


def body_error(status: int, message: str) -> JSONResponse:
    """A body the server refused before routing (qa.api.body), in OpenAI's shape: a body that is
    not strict JSON is a bad request (400), as OpenAI answers it; a body too large stays 413."""
    return OpenAIError(400 if status == 422 else status, message, param=None).response()

"""The request body guard: a bounded size and strict JSON, checked before any route parses a body.

* A body over ``max_bytes`` is answered 413 at once when its Content-Length says
  so, or as soon as the bytes received pass the limit (chunked uploads), so the
  server never holds more than the limit of any request.
* A JSON body must be UTF-8 JSON without NaN, Infinity, numbers too large to
  be finite, or lone surrogates (``"\\ud800"``): Python's json module accepts
  all of these, and they later broke encoding the response (a 500). They get a
  422 of the declared error shape instead.

Bodies are small once bounded (64 KB by default), so the guard reads the whole
body, checks it, and hands the same bytes on to the application.
"""

from __future__ import annotations

import email.message
import json
import math
import re
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.api.errors import error_response
from qa.api.schemas import ErrorItem

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # pairs were already joined by the JSON decoder


class _NotFinite(ValueError):
    """A JSON number that is NaN or infinite."""


def _refuse_constant(name: str) -> float:
    raise _NotFinite(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def _has_lone_surrogate(value) -> bool:
    """Whether any string (key or value) in a decoded JSON value holds an unpaired surrogate."""
    stack = [value]
    while stack:  # a loop, not recursion: nesting depth is the client's to choose
        item = stack.pop()
        if isinstance(item, str):
            if _LONE_SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def json_problem(body: bytes) -> str | None:
    """What makes body unacceptable as strict JSON, or None when it is fine."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        return f"the body is not UTF-8 (byte {error.start})"
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NotFinite:
        return "NaN and Infinity are not allowed (numbers must be finite)"
    except json.JSONDecodeError as error:
        return f"the body is not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
    except (ValueError, RecursionError):  # integers of thousands of digits, nesting deeper than the parser goes
        return "the body is not JSON this server accepts (too deeply nested or numbers too long)"
    if _has_lone_surrogate(value):
        return "strings must be valid Unicode (a lone surrogate such as \\ud800 was sent)"
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _is_json(content_type: str | None) -> bool:
    """Whether a body of this content type is parsed as JSON (no content type counts: it may be)."""
    if not content_type:
        return True
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


class BodyGuard:
    """ASGI middleware: 413 for bodies over max_bytes, 422 for JSON bodies that are not strict JSON."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        responders: dict[str, Callable[[int, str], Response]] | None = None,
        limits: dict[str, int] | None = None,
    ):
        # responders: for a path prefix (/v1), the error response in that API's own shape.
        # limits: for a path prefix (document uploads), a limit other than max_bytes.
        self.app = app
        self.max_bytes = max_bytes
        self.responders = responders or {}
        self.limits = limits or {}

    def _limit(self, scope: Scope) -> int:
        path = scope.get("path", "")
        return next((limit for prefix, limit in self.limits.items() if path.startswith(prefix)), self.max_bytes)

    def _error(self, scope: Scope, status: int, message: str, errors: list[ErrorItem] | None = None) -> Response:
        path = scope.get("path", "")
        responder = next((r for prefix, r in self.responders.items() if path.startswith(prefix)), None)
        return responder(status, message) if responder else error_response(status, message, errors)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = _header(scope, b"content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            await self._too_large(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before its body was complete: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and _is_json(_header(scope, b"content-type")):
            problem = json_problem(body)
            if problem:
                response = self._error(scope, 422, problem, [ErrorItem(loc=["body"], msg=problem, type="json_invalid")])
                await response(scope, receive, send)
                return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self._error(scope, 413, f"the request body is larger than the limit of {self._limit(scope)} bytes")
        # The rest of the body is not read: close the connection rather than drain it.
        response.headers["connection"] = "close"
        await response(scope, receive, send)

"""The API key (``QA_API_KEY``): optional for the OpenAI-compatible API, required for writes.

* ``require_api_key`` (/v1): with a key configured, requests need ``Authorization: Bearer <key>``;
  without one, everyone may call.
* ``require_write_key`` (adding, replacing and removing articles): the key is sent as
  ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``; with no key configured the
  write routes are disabled (403 saying how to enable them), never open.

Keys are compared in constant time, so the time taken says nothing about how much of a key was right.
"""

from __future__ import annotations

import hmac

from fastapi import Depends, HTTPException, Security, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from qa.api.deps import get_app_settings
from qa.settings import Settings

# auto_error=False: a missing header is this module's decision (it depends on the settings), not the scheme's.
_bearer = HTTPBearer(auto_error=False, description="The server's QA_API_KEY, when one is set")
_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The server's QA_API_KEY")

WRITES_DISABLED = (
    "adding, replacing and removing articles is disabled because the server has no API key; start it with "
    "QA_API_KEY set (e.g. `QA_API_KEY=choose-a-key qa serve`) and send the key as X-API-Key"
)


def _expected(settings: Settings) -> str:
    return settings.api_key.get_secret_value() if settings.api_key else ""


def _matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, message, headers={"WWW-Authenticate": "Bearer"})


def require_api_key(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    settings: Settings = Depends(get_app_settings),
) -> None:
    """Let the request through if no key is configured or it carries the configured key; 401 otherwise."""
    expected = _expected(settings)
    if not expected:
        return
    if credentials is None:
        raise _unauthorized("missing API key: send it as 'Authorization: Bearer <key>'")
    if not _matches(credentials.credentials, expected):
        raise _unauthorized("incorrect API key")


def require_write_key(
    header_key: str | None = Security(_key_header),
    credentials: HTTPAuthorizationCredentials | None = Security(_bearer),
    settings: Settings = Depends(get_app_settings),
) -> None:
    """Let a write through only with the configured key; 403 when none is configured, 401 when missing or wrong."""
    expected = _expected(settings)
    if not expected:
        raise HTTPException(status.HTTP_403_FORBIDDEN, WRITES_DISABLED)
    given = header_key if header_key is not None else (credentials.credentials if credentials else None)
    if given is None:
        raise _unauthorized("missing API key: send it as 'X-API-Key: <key>' or 'Authorization: Bearer <key>'")
    if not _matches(given, expected):
        raise _unauthorized("incorrect API key")

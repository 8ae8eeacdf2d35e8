"""The optional API key: when ``QA_API_KEY`` is set, a route that depends on ``require_api_key``
needs ``Authorization: Bearer <key>``; when it is not set, everyone may call it."""

from __future__ import annotations

import hmac

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from qa.api.deps import get_app_settings
from qa.settings import Settings

# auto_error=False: a missing header is this module's decision (it depends on the settings), not HTTPBearer's.
_bearer = HTTPBearer(auto_error=False, description="The server's QA_API_KEY, when one is set")


def require_api_key(
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    settings: Settings = Depends(get_app_settings),
) -> None:
    """Let the request through if no key is configured or it carries the configured key; 401 otherwise."""
    expected = settings.api_key.get_secret_value() if settings.api_key else ""
    if not expected:
        return
    if credentials is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing API key: send it as 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # Constant-time comparison, so the time taken says nothing about how much of the key was right.
    if not hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "incorrect API key", headers={"WWW-Authenticate": "Bearer"})

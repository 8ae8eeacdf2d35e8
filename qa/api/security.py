"""What the server tells browsers, and whom it answers: security headers, allowed hosts, CORS.

* Every response carries a Content-Security-Policy that lets pages run only
  scripts and styles served from here (no inline script, no outside host),
  forbids framing, and X-Content-Type-Options, X-Frame-Options and a
  Referrer-Policy to match.
* Requests whose Host header is not an allowed name get 400: a page on another
  site whose name was re-pointed at 127.0.0.1 (DNS rebinding) sends its own
  name as Host and so cannot read the API.
* Cross-origin calls are refused (no CORS headers) unless origins are listed.

Nothing here keeps state between requests: the headers, hosts and origins are
the settings', the same in every worker process of ``qa serve --workers N``. The
server does no rate limiting. Were a limiter added here, its counters would be
per worker (N workers letting N times the limit through, unevenly, since the
kernel picks the worker per connection): a limit meant for the whole server
belongs in the proxy in front of it, or in the state folder the workers share
(qa.conversation_store shows the way).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from qa.api.errors import error_response
from qa.settings import Settings

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


class SecurityHeaders:
    """ASGI middleware adding SECURITY_HEADERS to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def host_name(host_header: str) -> str:
    """The name in a Host header, without port, brackets or trailing dot, lower-cased ("[::1]:80" → "::1")."""
    host = host_header.strip().lower()
    if host.startswith("["):  # an IPv6 literal: the port follows the closing bracket
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


class AllowedHosts:
    """ASGI middleware answering 400 to requests whose Host is not in allowed ("*" allows any)."""

    def __init__(self, app: ASGIApp, allowed: list[str]):
        self.app = app
        self.allowed = {host_name(h) for h in allowed}
        self.any = "*" in allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self.any:
            host = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"host"), "")
            if host_name(host) not in self.allowed:
                response = error_response(400, "this server does not answer for that host name (see QA_ALLOWED_HOSTS)")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install_security(app: FastAPI, settings: Settings) -> None:
    """Add CORS (when origins are configured), the allowed-hosts check and the security headers to app."""
    # Starlette runs the middleware added last first: headers go on every response, the 400 included.
    if settings.cors_origins:
        app.add_middleware(
            # PUT, DELETE and the key headers: an allowed origin may also add and remove articles (with the key).
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["content-type", "x-api-key", "authorization"],
        )
    app.add_middleware(AllowedHosts, allowed=settings.allowed_hosts)
    app.add_middleware(SecurityHeaders)

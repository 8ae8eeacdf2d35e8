"""Running the server: uvicorn, with a deadline for each request's headers.

uvicorn closes idle keep-alive connections, but a connection that sends part of
a request's headers (``GET / HTTP/1.1\\r\\n`` and then nothing), or nothing at
all, was held open forever: enough of them exhaust the server's sockets. Here a
connection whose request headers are not complete ``header_timeout`` seconds
after it opened, or after the previous response, is answered 408 and closed.
"""

from __future__ import annotations

import asyncio

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from qa.settings import Settings

_TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing connections whose request headers take too long.

    The deadline runs from the moment a connection opens, and on a kept-alive
    connection from the first byte of the next request (an idle kept-alive
    connection is uvicorn's keep-alive timeout's business).
    """

    header_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_deadline: asyncio.TimerHandle | None = None
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow_state()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_state()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _waiting_for_headers(self) -> bool:
        """Whether part of a request's headers has arrived, and not the rest."""
        return self.conn.their_state is h11.IDLE and bool(self.conn.trailing_data[0])

    def _follow_state(self) -> None:
        if self._waiting_for_headers():
            self._arm()
        elif self.conn.their_state is not h11.IDLE:
            self._disarm()  # the headers are in

    def _arm(self) -> None:
        if self._header_deadline is None and not self.transport.is_closing():
            self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self._waiting_for_headers() and self.conn.our_state is h11.IDLE:
            self.transport.write(_TIMEOUT_RESPONSE)  # say why; a connection that sent nothing is just closed
        self.transport.close()


def protocol_with_header_timeout(seconds: float) -> type[HeaderTimeoutProtocol]:
    """HeaderTimeoutProtocol with its deadline set (uvicorn takes a class, not an instance)."""
    return type("HeaderTimeoutProtocol", (HeaderTimeoutProtocol,), {"header_timeout": seconds})


def serve(app: FastAPI, host: str, port: int, settings: Settings) -> None:
    """Serve app on host:port until interrupted."""
    uvicorn.run(
        app, host=host, port=port, log_level="warning",
        http=protocol_with_header_timeout(settings.header_timeout_seconds),
    )

"""Running the server: uvicorn, in one process or several worker processes, with a deadline for each
request's headers.

``serve`` runs an application built here in this process. ``serve_workers`` runs
N worker processes that share one listening socket (the kernel hands each new
connection to one of them): uvicorn starts them fresh (``spawn``) and gives them
the application by name (``worker_app``), not as an object, so the settings
reach them as ``QA_*`` environment variables (qa.settings.environment), and each
worker loads the index and the models once, at its start, before it answers.
Everything a worker keeps for itself is either the same in every worker (the
loaded index, which follows the folder across writes) or shared through files
(the conversations, qa.conversation_store; the writer lock, qa.commit).

uvicorn closes idle keep-alive connections, but a connection that sends part of
a request's headers (``GET / HTTP/1.1\\r\\n`` and then nothing), or nothing at
all, was held open forever: enough of them exhaust the server's sockets. Here a
connection whose request headers are not complete ``header_timeout`` seconds
after it opened, or after the previous response, is answered 408 and closed.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import OrderedDict

import h11
import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.supervisors import Multiprocess

from qa.settings import Settings, environment, get_settings

WORKER_APP = "qa.serving:worker_app"
WORKER_PROTOCOL = "qa.serving:SettingsHeaderTimeoutProtocol"
# How long a worker may take to answer its supervisor's ping (from a thread of its own) before it is taken
# for hung and replaced. Loading the engine stalled Python threads for 0.37 s at most (measured on 2 busy
# cores); a worker that dies while a ping is out is noticed only after this long, so not much longer.
WORKER_HEALTHCHECK_SECONDS = 10

# Responses after which a worker asks a kept-alive connection to close (ConnectionRecycling).
RECYCLE_AFTER_REQUESTS = 8
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


class SettingsHeaderTimeoutProtocol(HeaderTimeoutProtocol):
    """HeaderTimeoutProtocol for worker processes, which uvicorn gives the protocol by name: the deadline is
    the process's settings' (QA_HEADER_TIMEOUT_SECONDS, passed on by serve_workers)."""

    @property
    def header_timeout(self) -> float:  # type: ignore[override]
        return get_settings().header_timeout_seconds


class ConnectionRecycling:
    """ASGI middleware of worker processes: every RECYCLE_AFTER_REQUESTS-th response on a connection says
    ``Connection: close``, as nginx's keepalive_requests does, so the client's next request opens a new
    connection and the workers share the load.

    Workers accept from one shared socket, and asyncio accepts every connection waiting at once: 16
    load-test clients connecting together all went to the worker that woke first, which served 375 of
    400 requests while the other served 25 (57.8 requests/s, 1.3 cores busy). With a new connection per
    request they split 198 / 202 (76.8 requests/s, 1.6 cores). Closing now and then keeps most of
    keep-alive's saving and spreads the clients again.
    """

    def __init__(self, app: ASGIApp, every: int = RECYCLE_AFTER_REQUESTS, remembered: int = 10_000):
        self.app = app
        self.every = every
        self.remembered = remembered
        self.served: OrderedDict[tuple, int] = OrderedDict()  # connection (client address) -> responses

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if scope["type"] != "http" or not client:
            await self.app(scope, receive, send)
            return
        key = tuple(client)
        count = self.served.pop(key, 0) + 1
        last = count >= self.every
        if not last:
            self.served[key] = count
            while len(self.served) > self.remembered:  # connections closed by their clients are forgotten
                self.served.popitem(last=False)

        async def send_closing(message: Message) -> None:
            if last and message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            await send(message)

        await self.app(scope, receive, send_closing)


def worker_app() -> FastAPI:
    """The application of one worker process, with the settings of its environment (uvicorn's factory)."""
    from tqdm import tqdm

    from qa.api.app import create_app

    # tqdm takes a multiprocessing lock for its bars (a server shows none) on first use; in a spawned
    # worker that lock is registered with the supervisor's resource tracker and reported "leaked" when
    # the server stops. A thread lock does the same work here.
    tqdm.set_lock(threading.RLock())
    app = create_app(get_settings())
    app.add_middleware(ConnectionRecycling)
    return app


def serve(app: FastAPI, host: str, port: int, settings: Settings) -> None:
    """Serve app on host:port in this process until interrupted."""
    uvicorn.run(
        app, host=host, port=port, log_level="warning",
        http=protocol_with_header_timeout(settings.header_timeout_seconds),
    )


def pass_on(settings: Settings) -> None:
    """Put settings in this process's environment, where the processes it starts read theirs."""
    for name, value in environment(settings).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def serve_workers(host: str, port: int, settings: Settings, workers: int) -> bool:
    """Serve worker_app with settings on host:port from `workers` processes until interrupted; False
    when a worker could not start (its error is logged), which stops them all.

    This process only supervises: it binds the socket, starts the workers, replaces one that dies,
    and stops them on SIGINT or SIGTERM. It loads no index.
    """
    pass_on(settings)
    config = uvicorn.Config(
        WORKER_APP, factory=True, host=host, port=port, workers=workers, log_level="warning",
        http=WORKER_PROTOCOL, timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
    )
    # What uvicorn.run does for workers > 1, keeping the supervisor to read how its workers ended.
    supervisor = Multiprocess(config, sockets=[config.bind_socket()])
    supervisor.run()
    return not any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes)

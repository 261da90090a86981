"""A real HTTP server on 127.0.0.1 for the pull tests, answering from a script.

``with LocalServer(handler) as server:`` serves on an ephemeral port in a thread; ``handler``
gets each :class:`Request` and returns a :class:`Reply` (status, JSON or raw body, headers, an
optional delay before answering, a body cut short, or a body sent piece by piece without end in
sight). Every request is kept in ``server.log``.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from attrs import field, frozen


@frozen
class Request:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        """The form fields of a POST."""
        return {k: v[0] for k, v in urllib.parse.parse_qs(self.body.decode()).items()}


@frozen
class Reply:
    """What to answer: ``json`` (serialised) or ``body`` bytes; ``cut`` sends only that many bytes
    of the body while announcing all of it (a connection broken mid-answer); ``repeat`` sends
    ``body`` that many times, ``pace`` seconds apart, with no length announced (a body that goes on
    and on, or trickles), stopping early when the client hangs up."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(factory=dict)
    delay: float = 0.0
    cut: int | None = None
    repeat: int = 0
    pace: float = 0.0


class LocalServer:
    """A scripted HTTP server; ``url`` is its base URL."""

    def __init__(self, handler: Callable[[Request], Reply]) -> None:
        self.handler = handler
        self.log: list[Request] = []
        #: Body bytes sent by ``repeat`` replies.
        self.sent = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urllib.parse.urlsplit(self.path)
                request = Request(
                    self.command, parts.path, {k: v[0] for k, v in urllib.parse.parse_qs(parts.query).items()},
                    {k.lower(): v for k, v in self.headers.items()}, body,
                )
                outer.log.append(request)
                reply = outer.handler(request)
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.body if reply.body is not None else json.dumps(reply.json).encode()
                if reply.repeat:
                    self._stream(reply, data)
                    return
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    if reply.cut is not None:
                        self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(data if reply.cut is None else data[: reply.cut])
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass
                if reply.cut is not None:
                    self.close_connection = True

            def _stream(self, reply: Reply, data: bytes) -> None:
                self.close_connection = True
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Connection", "close")
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    for _ in range(reply.repeat):
                        self.wfile.write(data)
                        self.wfile.flush()
                        outer.sent += len(data)
                        time.sleep(reply.pace)
                except OSError:  # the client hung up: what the limits are for
                    pass

            do_GET = do_POST = _serve  # noqa: N815 - http.server's naming

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LocalServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


def script(*replies: Reply) -> Callable[[Request], Reply]:
    """A handler answering with ``replies`` in turn, then the last one again and again."""
    queue = list(replies)

    def handler(_request: Request) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler

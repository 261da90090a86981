"""The embedded server of :mod:`peertrain.calendars.serve` (:func:`make_server`, re-exported there): the
standard library's ``wsgiref``, one thread per request, a listen backlog that holds a burst of
subscribers, refusals as short plain-text answers, and no feed token in its log, however the
request was spelled.
"""

from __future__ import annotations

import socket
import sys
from http import HTTPStatus
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.simple_server import make_server as _wsgiref_server
from wsgiref.types import WSGIApplication

from peertrain.calendars.serve._tokens import log_target, redact

#: The listen backlog: connections the kernel queues while the server thread accepts others.
#: ``socketserver``'s default of 5 drops SYNs in a burst of 20 subscribers, which the client
#: retries only after a second (p99 of 1 s at 20 concurrent connections).
REQUEST_QUEUE_SIZE = 128

# -- the embedded server ----------------------------------------------------------------------


class _Handler(WSGIRequestHandler):
    """wsgiref's request handler, with:

    - paths passed on as sent (``http.server`` turns a leading ``//`` into ``/``; a feed is at one
      path), and the raw request target as ``RAW_URI`` (as gunicorn does), so that the
      application refuses every spelling of a feed's path but the canonical one;
    - an access log that shows the request target only as :func:`~peertrain.calendars.serve._tokens.log_target`
      allows (``/feeds/…``, or ``/…``), and every other log line passed through
      :func:`~peertrain.calendars.serve._tokens.redact`;
    - refusals made before the application is reached (a 70,000-character path: 414; a request
      line that cannot be read: 400) answered like the application's own: a short plain-text
      body, never Python's HTML error page.
    """

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        words = self.requestline.split()
        if parsed and len(words) >= 2 and words[1].startswith("//"):
            self.path = words[1]
        return parsed

    def get_environ(self) -> dict[str, Any]:
        env = super().get_environ()
        env["RAW_URI"] = self.path
        return env

    def _safe_requestline(self) -> str:
        words = str(getattr(self, "requestline", "")).split()
        if len(words) == 3 and words[2].startswith("HTTP/"):
            return f"{redact(words[0])[:16]} {log_target(words[1])} {words[2][:16]}"
        return "<request line not shown>" if words else ""

    def log_message(self, format: str, *args: Any) -> None:
        message = format % args
        raw = str(getattr(self, "requestline", ""))
        if raw:
            safe = self._safe_requestline()
            message = message.replace(repr(raw), repr(safe)).replace(raw, safe)
        line = f"{self.address_string()} - - [{self.log_date_time_string()}] {redact(message)}"
        sys.stderr.write(line.replace("\r", " ").replace("\n", " ") + "\n")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        try:
            reason = HTTPStatus(code).phrase
        except ValueError:
            reason = "Error"
        self.log_error("code %d, message %s", code, reason)
        body = f"{reason}\n".encode("ascii")
        self.send_response(code, reason)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED):
            self.wfile.write(body)


class _Server(ThreadingMixIn, WSGIServer):
    """wsgiref's server, one thread per request (a slow subscriber does not hold up the others),
    with a listen backlog of :data:`REQUEST_QUEUE_SIZE`."""

    daemon_threads = True
    request_queue_size = REQUEST_QUEUE_SIZE


class _Server6(_Server):
    address_family = socket.AF_INET6


def make_server(app: WSGIApplication, host: str = "127.0.0.1", port: int = 8080) -> WSGIServer:
    """A ``wsgiref`` server of ``app`` on ``host:port`` (port 0: any free port; see
    ``server.server_port``). Call ``serve_forever()``; stop with ``shutdown()`` and ``server_close()``."""
    server_class = _Server6 if ":" in host else _Server
    return _wsgiref_server(host, port, app, server_class=server_class, handler_class=_Handler)

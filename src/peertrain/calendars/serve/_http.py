"""The embedded server of :mod:`peertrain.calendars.serve` (:func:`make_server`, re-exported there): the
standard library's ``wsgiref``, one thread per request, with feed tokens left out of its log.
"""

from __future__ import annotations

import socket
import sys
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.simple_server import make_server as _wsgiref_server
from wsgiref.types import WSGIApplication

from peertrain.calendars.serve._tokens import redact

# -- the embedded server ----------------------------------------------------------------------


class _Handler(WSGIRequestHandler):
    """wsgiref's request handler, with the feed tokens left out of its access log, and paths
    passed on as sent (``http.server`` turns a leading ``//`` into ``/``; a feed is at one path)."""

    def parse_request(self) -> bool:
        parsed = super().parse_request()
        words = self.requestline.split()
        if parsed and len(words) >= 2 and words[1].startswith("//"):
            self.path = words[1]
        return parsed

    def log_message(self, format: str, *args: Any) -> None:
        sys.stderr.write(f"{self.address_string()} - - [{self.log_date_time_string()}] {redact(format % args)}\n")


class _Server(ThreadingMixIn, WSGIServer):
    """wsgiref's server, one thread per request (a slow subscriber does not hold up the others)."""

    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


def make_server(app: WSGIApplication, host: str = "127.0.0.1", port: int = 8080) -> WSGIServer:
    """A ``wsgiref`` server of ``app`` on ``host:port`` (port 0: any free port; see
    ``server.server_port``). Call ``serve_forever()``; stop with ``shutdown()`` and ``server_close()``."""
    server_class = _Server6 if ":" in host else _Server
    return _wsgiref_server(host, port, app, server_class=server_class, handler_class=_Handler)

"""The ``peertrain serve`` command: serve the calendar feeds over HTTP with the standard library.

The application, its options and the data loading are in :mod:`peertrain.calendars.serve`; this module
registers the command (in :mod:`peertrain.cli`), prints the feed URLs once, to standard output,
and runs ``wsgiref`` until interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any

from peertrain.calendars.serve import add_arguments, app_from_args, make_server
from peertrain.errors import InputError
from peertrain.pull.safety import is_loopback

__all__ = ["add_commands", "run"]


def add_commands(commands: Any) -> None:
    """Add ``serve`` to the ``peertrain`` sub-command parser."""
    serve = commands.add_parser(
        "serve",
        help="serve the calendar feeds over HTTP, one unguessable URL per feed",
        description=(
            "Serve iCalendar feeds (the same as 'peertrain calendar' writes) at /feeds/<token>.ics, "
            "one URL per feed, with ETag and Last-Modified. The tokens come from a secret in "
            "$PEERTRAIN_FEED_SECRET or a file ($PEERTRAIN_FEED_SECRET_FILE or --secret-file). The feed "
            "URLs are printed once, to standard output. Plain HTTP: for use beyond this machine, put "
            "it behind an HTTPS proxy. See docs/calendars.md."
        ),
    )
    add_arguments(serve)
    serve.set_defaults(serve_parser=serve)


def run(args: argparse.Namespace) -> int:
    """Run ``serve``; returns the exit status (0: stopped with Ctrl-C, or URLs printed)."""
    parser: argparse.ArgumentParser = args.serve_parser
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port} is not a port number (0-65535)")
    app = app_from_args(args, parser)
    if args.print_urls:
        _print_urls(app.urls(args.base_url or f"http://{_authority(args.host, args.port)}"))
        return 0
    try:
        server = make_server(app, args.host, args.port)
    except OSError as exc:
        raise InputError("--host/--port", f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
    try:
        base = args.base_url or f"http://{_authority(args.host, server.server_port)}"
        _print_urls(app.urls(base))
        if not is_loopback(args.host):
            print(f"peertrain: warning: serving plain HTTP on {args.host}; for subscribers elsewhere put it behind "
                  "an HTTPS proxy (docs/calendars.md)", file=sys.stderr)
        print(f"peertrain: serving {len(app.names)} feeds on http://{_authority(args.host, server.server_port)} "
              "(Ctrl-C to stop)", file=sys.stderr, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()
    finally:
        server.server_close()
    return 0


def _authority(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _print_urls(urls: dict[str, str]) -> None:
    width = max((len(name) for name in urls), default=0)
    for name, url in urls.items():
        print(f"{name:<{width}}  {url}")
    sys.stdout.flush()

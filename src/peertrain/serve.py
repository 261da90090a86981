"""Serve the training calendars over HTTP: one unguessable URL per feed (``peertrain serve``).

A plain WSGI application (:class:`FeedApp`, standard library only) that runs under
``wsgiref`` (the embedded default, :func:`make_server`) or any WSGI server (gunicorn, uWSGI,
mod_wsgi, waitress: :func:`make_app`). ``docs/calendars.md`` ("Serving feeds") explains its use.

- **URLs**: each feed is served at ``/feeds/<token>.ics`` only. The token is the HMAC-SHA256 of
  the feed's name (``team``, ``member:PL-01``, ``function:postvention``) keyed with a secret,
  cut to 160 bits and written in lower-case base32 (:func:`feed_token`): the same secret gives the
  same URLs after a restart, a new secret gives new ones (and revokes the old). The secret comes
  from ``PEERTRAIN_FEED_SECRET`` or from a file (``PEERTRAIN_FEED_SECRET_FILE`` or
  ``--secret-file``), never from a command-line value (:func:`load_secret`).
- **Requests**: ``GET`` and ``HEAD`` of a feed's exact path give 200 (or 304); every other path is
  404 and every other method 405. Paths are looked up in a table of the feeds' URLs; no file is
  ever opened because of a request.
- **Responses** carry ``Content-Type: text/calendar; charset=utf-8`` (with ``method=...`` when
  the calendar has a METHOD, which peertrain's feeds do not), a strong ``ETag`` (a SHA-256 of the
  bytes), ``Last-Modified`` (the newest DTSTAMP / LAST-MODIFIED in the feed or, for feeds with
  deadlines, the evaluation date: the data's time, not the clock's) and ``Cache-Control: private``.
  ``If-None-Match`` is answered with 304 when a tag matches; ``If-Modified-Since`` only when the
  request has no ``If-None-Match`` (RFC 9110).
- **Reloading**: the data files are checked (size and modification time) at most every
  ``check_every`` seconds; when one changed, or the evaluation date moved (no ``--as-of``), the
  data are read again. A reload that fails keeps the previous feeds and logs one line. Feeds are
  built from the data in memory when first asked for and kept until the next reload.
- **Logs** never show a token: the embedded server's access log writes ``/feeds/<token>.ics`` as
  ``/feeds/….ics``.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import os
import re
import shlex
import socket
import stat
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer
from wsgiref.simple_server import make_server as _wsgiref_server
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from attrs import frozen
from icalendar import Calendar

from peertrain.calendars import Feed, FeedKind, FeedOptions, build_feed
from peertrain.catalog import Catalogue
from peertrain.cli_calendar import add_feed_arguments
from peertrain.cli_data import evaluate, load_inputs, today
from peertrain.compliance import ComplianceResult
from peertrain.errors import InputError, PeertrainError
from peertrain.ledger import open_ledger
from peertrain.loading import curricula_dir, load_bundled_catalogue
from peertrain.model import Completion, Function, Member
from peertrain.output import Privacy
from peertrain.requirements import RulePack
from peertrain.sessions import Schedule, load_schedule

__all__ = [
    "ARGS_ENV",
    "CACHE_CONTROL",
    "DEFAULT_FEEDS",
    "MIN_SECRET_CHARS",
    "SECRET_ENV",
    "SECRET_FILE_ENV",
    "DataSource",
    "FeedApp",
    "FeedDocument",
    "FeedSource",
    "add_arguments",
    "app_from_args",
    "build_parser",
    "feed_path",
    "feed_token",
    "load_secret",
    "make_app",
    "make_server",
    "redact",
]

#: The environment variable holding the secret itself.
SECRET_ENV = "PEERTRAIN_FEED_SECRET"
#: The environment variable naming a file that holds the secret.
SECRET_FILE_ENV = "PEERTRAIN_FEED_SECRET_FILE"
#: The environment variable :func:`make_app` reads its options from when given none.
ARGS_ENV = "PEERTRAIN_SERVE_ARGS"
#: The shortest secret accepted (``secrets.token_urlsafe(32)`` gives 43 characters).
MIN_SECRET_CHARS = 32
#: What ``--feeds`` serves by default: the team feed, one per member and one per function.
DEFAULT_FEEDS = ("team", "member:ALL", "function:ALL")
#: Feeds hold personal data: no shared cache may keep them; a client may reuse a copy for five
#: minutes, then revalidates it (cheaply, with the ETag).
CACHE_CONTROL = "private, max-age=300"
_HOW_TO_CREATE = (
    "create one with: (umask 077; python -c \"import secrets; print(secrets.token_urlsafe(32))\" > feed-secret) "
    "and set PEERTRAIN_FEED_SECRET_FILE=feed-secret (docs/calendars.md)"
)
_TOKEN_BYTES = 20  # 160 bits
_DOMAIN = b"peertrain feed token v1\x1f"
_FEEDS_IN_LOG = re.compile(r"/feeds/[^\s\"?]*")


# -- the secret and the tokens ----------------------------------------------------------------


def load_secret(secret_file: Path | None = None, environ: Mapping[str, str] | None = None) -> bytes:
    """The feed secret, from ``secret_file``, else the file named by ``PEERTRAIN_FEED_SECRET_FILE``,
    else ``PEERTRAIN_FEED_SECRET``. Surrounding white space (a file's final newline) is ignored.

    Raises :class:`~peertrain.errors.InputError` (which never shows the secret) when there is
    none, the file cannot be read, or it is shorter than :data:`MIN_SECRET_CHARS` characters.
    """
    env = os.environ if environ is None else environ
    path = secret_file or (Path(env[SECRET_FILE_ENV]) if env.get(SECRET_FILE_ENV) else None)
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise InputError(str(path), f"the feed secret cannot be read: {reason}") from None
        source = str(path)
    elif env.get(SECRET_ENV):
        text, source = env[SECRET_ENV], SECRET_ENV
    else:
        raise InputError(
            "feed secret",
            f"none given: set {SECRET_ENV} or {SECRET_FILE_ENV}, or give --secret-file; {_HOW_TO_CREATE}",
        )
    secret = text.strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise InputError(
            source, f"the feed secret is too short ({len(secret)} characters, at least {MIN_SECRET_CHARS}); "
            f"{_HOW_TO_CREATE}",
        )
    return secret.encode("utf-8")


def feed_token(secret: bytes, name: str) -> str:
    """The URL token of the feed called ``name`` (``str(feed)``): the first 160 bits of
    HMAC-SHA256(secret, name) in lower-case base32, 32 characters."""
    digest = hmac.new(secret, _DOMAIN + name.encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest[:_TOKEN_BYTES]).decode("ascii").lower()


def feed_path(secret: bytes, name: str) -> str:
    """The path the feed called ``name`` is served at: ``/feeds/<token>.ics``."""
    return f"/feeds/{feed_token(secret, name)}.ics"


def redact(text: str) -> str:
    """``text`` with every ``/feeds/...`` path replaced by ``/feeds/…`` (for logs)."""
    return _FEEDS_IN_LOG.sub("/feeds/…", text)


# -- documents --------------------------------------------------------------------------------


@frozen
class FeedDocument:
    """One feed as served: its bytes, content type, strong ETag and Last-Modified (or ``None``)."""

    body: bytes
    content_type: str
    etag: str
    last_modified: dt.datetime | None

    @classmethod
    def from_calendar(cls, calendar: Calendar, *, not_before: dt.datetime | None = None) -> FeedDocument:
        """Serialise ``calendar``. Last-Modified is its newest DTSTAMP or LAST-MODIFIED (of any
        component), or ``not_before`` when that is later, to the second."""
        body: bytes = calendar.to_ical()
        content_type = "text/calendar; charset=utf-8"
        method = calendar.get("METHOD")
        if method:
            content_type += f"; method={str(method).upper()}"
        stamps = [not_before] if not_before is not None else []
        for component in calendar.walk():
            for name in ("LAST-MODIFIED", "DTSTAMP"):
                if name in component:
                    when = component.decoded(name)
                    if isinstance(when, dt.datetime):
                        stamps.append(when if when.tzinfo else when.replace(tzinfo=dt.UTC))
        newest = max(stamps, default=None)
        last_modified = newest.astimezone(dt.UTC).replace(microsecond=0) if newest else None
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        return cls(body, content_type, etag, last_modified)


class FeedSource(Protocol):
    """What :class:`FeedApp` serves: named feeds, rendered on demand."""

    def names(self) -> Sequence[str]:
        """The names of the feeds, in the order to list them."""

    def render(self, name: str) -> FeedDocument:
        """The feed called ``name`` (one of :meth:`names`)."""


class _Generation:
    """One load of the data: its feeds by path, and the documents rendered so far."""

    def __init__(self, source: FeedSource, secret: bytes) -> None:
        self.source = source
        self.names = list(source.names())
        self.by_path = {feed_path(secret, name): name for name in self.names}
        self._documents: dict[str, FeedDocument] = {}
        self._lock = threading.Lock()

    def document(self, name: str) -> FeedDocument:
        with self._lock:
            document = self._documents.get(name)
            if document is None:
                document = self._documents[name] = self.source.render(name)
            return document


def _warn(message: str) -> None:
    print(f"peertrain: warning: {message}", file=sys.stderr, flush=True)


_Headers = list[tuple[str, str]]
_SECURITY_HEADERS: _Headers = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer")]


class FeedApp:
    """The WSGI application: serves the feeds of ``load()`` at their token paths.

    ``fingerprint`` (optional) says whether the data changed: it is called at most every
    ``check_every`` seconds (0: on every request) and, when its value differs from the last one,
    ``load`` is called again. ``load`` and ``fingerprint`` must not read request data.
    """

    def __init__(
        self,
        load: Callable[[], FeedSource],
        secret: bytes,
        *,
        fingerprint: Callable[[], Hashable] | None = None,
        check_every: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        warn: Callable[[str], None] = _warn,
    ) -> None:
        if not secret:
            raise ValueError("a feed secret is required")
        self._load = load
        self._secret = secret
        self._fingerprint = fingerprint
        self._check_every = check_every
        self._clock = clock
        self._warn = warn
        self._lock = threading.Lock()
        self._seen = fingerprint() if fingerprint else None
        self._generation = _Generation(load(), secret)
        self._next_check = clock() + check_every

    @property
    def names(self) -> list[str]:
        """The names of the feeds served now."""
        return list(self._generation.names)

    def paths(self) -> dict[str, str]:
        """Each served feed's path (``/feeds/<token>.ics``), by feed name."""
        generation = self._generation
        return {name: path for path, name in generation.by_path.items()}

    def urls(self, base_url: str) -> dict[str, str]:
        """Each served feed's URL under ``base_url`` (e.g. ``https://calendars.example.org``)."""
        return {name: base_url.rstrip("/") + path for name, path in self.paths().items()}

    def reload_if_changed(self) -> bool:
        """Check the data now (whatever ``check_every`` says); reload when it changed. Returns
        whether new data was loaded."""
        with self._lock:
            self._next_check = self._clock() + self._check_every
            if self._fingerprint is None:
                return False
            try:
                seen = self._fingerprint()
            except OSError as exc:
                self._warn(f"cannot check the data files: {exc}")
                return False
            if seen == self._seen:
                return False
            self._seen = seen
            try:
                generation = _Generation(self._load(), self._secret)
            except (PeertrainError, OSError, ValueError) as exc:
                self._warn(f"the data could not be reloaded, still serving the previous feeds: {exc}")
                return False
            self._generation = generation
            return True

    def _current(self) -> _Generation:
        if self._fingerprint is not None and self._clock() >= self._next_check:
            self.reload_if_changed()
        return self._generation

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        if method not in ("GET", "HEAD"):
            return _plain(start_response, "405 Method Not Allowed", method, [("Allow", "GET, HEAD")])
        generation = self._current()
        name = generation.by_path.get(str(environ.get("PATH_INFO", "")))
        if name is None:
            return _plain(start_response, "404 Not Found", method)
        document = generation.document(name)
        headers: _Headers = [
            ("Content-Type", document.content_type),
            ("Content-Length", str(len(document.body))),
            ("ETag", document.etag),
            ("Cache-Control", CACHE_CONTROL),
            *_SECURITY_HEADERS,
        ]
        last_modified = _not_after_now(document.last_modified)
        if last_modified is not None:
            headers.append(("Last-Modified", email.utils.format_datetime(last_modified, usegmt=True)))
        if _not_modified(environ, document.etag, last_modified):
            start_response("304 Not Modified", [(k, v) for k, v in headers if k != "Content-Type"])
            return [b""]
        start_response("200 OK", headers)
        return [b"" if method == "HEAD" else document.body]


def _not_after_now(when: dt.datetime | None) -> dt.datetime | None:
    """HTTP forbids a Last-Modified in the future (a caching decision: the one use of the clock)."""
    if when is None:
        return None
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    return min(when, now)


def _not_modified(environ: WSGIEnvironment, etag: str, last_modified: dt.datetime | None) -> bool:
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match is not None:  # weak comparison (RFC 9110 13.1.2); If-Modified-Since is ignored
        tags = {tag.strip().removeprefix("W/") for tag in str(if_none_match).split(",")}
        return "*" in tags or etag in tags
    if_modified_since = environ.get("HTTP_IF_MODIFIED_SINCE")
    if if_modified_since is None or last_modified is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(str(if_modified_since))
    except (TypeError, ValueError, IndexError):
        return False  # not an HTTP-date: ignored
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    return since >= last_modified


def _plain(
    start_response: StartResponse, status: str, method: str, extra: Sequence[tuple[str, str]] = ()
) -> list[bytes]:
    body = (status.split(" ", 1)[1] + "\n").encode("ascii")
    start_response(status, [
        ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
        ("Cache-Control", "no-store"), *_SECURITY_HEADERS, *extra,
    ])
    return [b"" if method == "HEAD" else body]


# -- the data ---------------------------------------------------------------------------------


def _selection(text: str) -> str:
    """An argparse type: ``team``, ``member:ID``, ``member:ALL``, ``function:NAME`` or ``function:ALL``."""
    kind, _, value = text.strip().partition(":")
    if value.strip() == "ALL" and kind in (FeedKind.MEMBER, FeedKind.FUNCTION):
        return f"{kind}:ALL"
    try:
        return str(Feed.parse(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (or member:ALL, function:ALL)") from None


class DataSource:
    """The feeds of the data options (those of ``peertrain calendar``), read once.

    ``feeds`` are :func:`_selection` strings; ``member:ALL`` is every roster member, in roster
    order, and ``function:ALL`` every function. A named member who is not on the roster is left
    out with a warning.
    """

    def __init__(
        self, args: argparse.Namespace, parser: argparse.ArgumentParser, warn: Callable[[str], None] = _warn
    ) -> None:
        self.options = FeedOptions(
            privacy=Privacy(args.privacy), alarm_days=args.alarms, reminder_events=args.reminder_events,
            refresh=args.refresh_hours,
        )
        self.result: ComplianceResult | None = None
        self.members: list[Member] = []
        self.packs: list[RulePack] = []
        self.completions: list[Completion] = []
        self.schedule: Schedule | None = None
        if not _has_records(args):
            if args.sessions is None:
                parser.error("give --sessions, records (--roster/--completions, --ledger), or --demo")
            if any(f.startswith("member:") and f != "member:ALL" for f in args.feeds):
                parser.error("a member feed needs records: give --roster and --completions, --ledger or --demo")
            self.catalogue: Catalogue = load_bundled_catalogue(args.catalog)
            self.schedule = load_schedule(args.sessions, self.catalogue)
        else:
            inputs = load_inputs(args, parser)
            self.result = evaluate(inputs, args.due_within)
            for warning in [*inputs.notes, *self.result.warnings]:
                warn(warning)
            self.catalogue = inputs.catalogue
            self.members, self.packs, self.completions = inputs.members, inputs.packs, inputs.completions
            sessions_path: Path | None = args.sessions
            if sessions_path is None and inputs.demo is not None:
                sessions_path = curricula_dir() / "demo" / "sessions.toml"
            self.schedule = load_schedule(sessions_path, self.catalogue) if sessions_path else None
        self._names = self._expand(args.feeds, warn)

    def _expand(self, selection: Sequence[str], warn: Callable[[str], None]) -> list[str]:
        on_roster = [m.id for m in self.members]
        names: list[str] = []
        for item in selection:
            if item == "member:ALL":
                names += [f"member:{member}" for member in on_roster]
            elif item == "function:ALL":
                names += [f"function:{function.value}" for function in Function]
            elif item.startswith("member:") and item.removeprefix("member:") not in on_roster:
                warn(f"--feeds {item}: no member with that id on the roster; not served")
            else:
                names.append(item)
        return list(dict.fromkeys(names))

    def names(self) -> list[str]:
        """The feeds to serve, by name."""
        return list(self._names)

    def calendar(self, name: str) -> Calendar:
        """The calendar of the feed ``name``, exactly as ``peertrain calendar --feed NAME`` writes it."""
        return build_feed(
            Feed.parse(name), catalogue=self.catalogue, schedule=self.schedule, result=self.result,
            members=self.members, packs=self.packs, completions=self.completions, options=self.options,
        )

    def render(self, name: str) -> FeedDocument:
        """The feed ``name`` as served; a feed with deadlines is not older than its as-of date."""
        as_of = self.result.as_of if self.result is not None else None
        not_before = dt.datetime.combine(as_of, dt.time(), tzinfo=dt.UTC) if as_of else None
        return FeedDocument.from_calendar(self.calendar(name), not_before=not_before)


def _has_records(args: argparse.Namespace) -> bool:
    return bool(args.demo or args.roster or args.completions or args.ledger)


def _watched(args: argparse.Namespace) -> list[Path]:
    paths: list[Path] = [p for p in (args.sessions, args.roster, args.completions, args.exemptions) if p]
    if args.ledger:
        paths += [args.ledger, Path(f"{args.ledger}-wal")]
    paths += list(args.catalog)
    paths += [Path(rule) for rule in args.rules if Path(rule).suffix == ".toml"]
    if args.demo:
        paths += sorted((curricula_dir() / "demo").iterdir())
    return paths


def _fingerprint(args: argparse.Namespace) -> Callable[[], Hashable]:
    """The state of the data files (size and modification time) and, without a fixed as-of date,
    today's date where the data says (the ledger's zone, else this machine's)."""
    paths = _watched(args)
    zone: str | None = None
    if args.ledger and args.as_of is None:
        ledger = open_ledger(args.ledger)
        try:
            zone = ledger.timezone()
        finally:
            ledger.close()
    moving = args.as_of is None and not args.demo and _has_records(args)

    def fingerprint() -> Hashable:
        files: list[tuple[str, int, int] | tuple[str, None, None]] = []
        for path in paths:
            try:
                info = path.stat()
            except OSError:
                files.append((str(path), None, None))
            else:
                files.append((str(path), info.st_mtime_ns, info.st_size))
        return (tuple(files), today(zone) if moving else None)

    return fingerprint


# -- options ----------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``peertrain serve`` (which :func:`make_app` also reads) to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080; 0: any free port)")
    parser.add_argument(
        "--feeds", nargs="+", type=_selection, default=list(DEFAULT_FEEDS), metavar="FEED",
        help="feeds to serve: team, member:ID, member:ALL (one per roster member), function:NAME, "
        "function:ALL (default: team member:ALL function:ALL)",
    )
    add_feed_arguments(
        parser, privacy_help="how people appear in every feed: full names, initials, or none (agency ids only)"
    )
    parser.add_argument(
        "--secret-file", type=Path, metavar="FILE",
        help=f"file holding the feed secret (else ${SECRET_FILE_ENV} or ${SECRET_ENV}); the secret itself "
        "is never an option",
    )
    parser.add_argument("--check-every", type=float, default=5.0, metavar="SECONDS",
                        help="how often to check the data files for changes (default 5; 0: every request)")
    parser.add_argument("--base-url", metavar="URL",
                        help="the public address to print the feed URLs with, e.g. https://calendars.example.org "
                        "(default: http://HOST:PORT)")
    parser.add_argument("--print-urls", action="store_true",
                        help="print the feed URLs and exit (e.g. when another WSGI server runs the app)")


def build_parser() -> argparse.ArgumentParser:
    """A parser of the ``peertrain serve`` options alone (for :func:`make_app`)."""
    parser = argparse.ArgumentParser(prog="peertrain serve", description="Serve the training calendar feeds.")
    add_arguments(parser)
    return parser


def app_from_args(
    args: argparse.Namespace, parser: argparse.ArgumentParser, environ: Mapping[str, str] | None = None
) -> FeedApp:
    """The application for parsed ``serve`` options: reads the secret, then the data."""
    if args.check_every < 0:
        parser.error("--check-every must be 0 or more seconds")
    secret = load_secret(args.secret_file, environ)
    if args.secret_file is not None:
        _check_private(args.secret_file)
    elif (environ if environ is not None else os.environ).get(SECRET_FILE_ENV):
        _check_private(Path((environ if environ is not None else os.environ)[SECRET_FILE_ENV]))
    return FeedApp(
        lambda: DataSource(args, parser), secret, fingerprint=_fingerprint(args), check_every=args.check_every
    )


def _check_private(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError:  # pragma: no cover - it was just read
        return
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        _warn(f"{path} can be read by other users; restrict it with: chmod 600 {path}")


def make_app(argv: str | Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None) -> FeedApp:
    """The WSGI application for the ``peertrain serve`` options ``argv`` (a string is split like a
    shell line; ``None``: the ``PEERTRAIN_SERVE_ARGS`` environment variable). For any WSGI server::

        gunicorn 'peertrain.serve:make_app("--ledger /srv/team.ledger --rules mn-181-9731")'

    ``--host``, ``--port``, ``--base-url`` and ``--print-urls`` are ignored here. The secret is read
    as for ``peertrain serve``.
    """
    env = os.environ if environ is None else environ
    if argv is None:
        argv = env.get(ARGS_ENV, "")
    words = shlex.split(argv) if isinstance(argv, str) else list(argv)
    parser = build_parser()
    return app_from_args(parser.parse_args(words), parser, env)


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

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

This module holds the feeds served from the data files (:class:`DataSource`) and the options
(:func:`make_app`, :func:`app_from_args`); beside it are :mod:`peertrain.calendars.serve._tokens` (the
secret, tokens, redacting logs), :mod:`peertrain.calendars.serve._app` (:class:`FeedApp`, reloading and the
HTTP handling) and :mod:`peertrain.calendars.serve._http` (the embedded ``wsgiref`` server).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path

from icalendar import Calendar

from peertrain.calendars.feed import Feed, FeedKind, FeedOptions, build_feed
from peertrain.calendars.options import add_feed_arguments
from peertrain.calendars.schedule import load_schedule
from peertrain.calendars.serve._app import CACHE_CONTROL, FeedApp, FeedDocument, FeedSource, _warn
from peertrain.calendars.serve._http import REQUEST_QUEUE_SIZE, make_server
from peertrain.calendars.serve._tokens import (
    MIN_SECRET_CHARS,
    SECRET_ENV,
    SECRET_FILE_ENV,
    feed_path,
    feed_token,
    load_secret,
    log_target,
    redact,
)
from peertrain.calendars.sessions import Schedule
from peertrain.imports.inputs import evaluate, load_inputs, today
from peertrain.ledger import is_database_url, open_ledger
from peertrain.rules.catalog import Catalogue
from peertrain.rules.compliance import ComplianceResult
from peertrain.rules.loading import curricula_dir, load_bundled_catalogue
from peertrain.rules.model import Completion, Function, Member
from peertrain.rules.privacy import Privacy
from peertrain.rules.requirements import RulePack

__all__ = [
    "ARGS_ENV",
    "CACHE_CONTROL",
    "DEFAULT_FEEDS",
    "MIN_SECRET_CHARS",
    "REQUEST_QUEUE_SIZE",
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
    "log_target",
    "make_app",
    "make_server",
    "redact",
]

#: The environment variable :func:`make_app` reads its options from when given none.
ARGS_ENV = "PEERTRAIN_SERVE_ARGS"
#: What ``--feeds`` serves by default: the team feed, one per member and one per function.
DEFAULT_FEEDS = ("team", "member:ALL", "function:ALL")

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
    if args.ledger and not is_database_url(args.ledger):  # a database's changes are not watched (yet)
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
    return FeedApp(
        lambda: DataSource(args, parser), secret, fingerprint=_fingerprint(args), check_every=args.check_every
    )


def make_app(argv: str | Sequence[str] | None = None, *, environ: Mapping[str, str] | None = None) -> FeedApp:
    """The WSGI application for the ``peertrain serve`` options ``argv`` (a string is split like a
    shell line; ``None``: the ``PEERTRAIN_SERVE_ARGS`` environment variable). For any WSGI server::

        gunicorn 'peertrain.calendars.serve:make_app("--ledger /srv/team.ledger --rules mn-181-9731")'

    ``--host``, ``--port``, ``--base-url`` and ``--print-urls`` are ignored here. The secret is read
    as for ``peertrain serve``.
    """
    env = os.environ if environ is None else environ
    if argv is None:
        argv = env.get(ARGS_ENV, "")
    words = shlex.split(argv) if isinstance(argv, str) else list(argv)
    parser = build_parser()
    return app_from_args(parser.parse_args(words), parser, env)

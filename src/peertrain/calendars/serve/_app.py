"""The WSGI application of :mod:`peertrain.calendars.serve` (which re-exports the public names): a feed as
served (:class:`FeedDocument`), what the application serves (:class:`FeedSource`), reloading
(one generation of feeds per load of the data), and the HTTP handling: token paths, methods,
ETag / Last-Modified and conditional requests.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import sys
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Protocol
from wsgiref.types import StartResponse, WSGIEnvironment

from attrs import frozen
from icalendar import Calendar

from peertrain.calendars.serve._tokens import feed_path
from peertrain.errors import PeertrainError

#: Feeds hold personal data: no shared cache may keep them; a client may reuse a copy for five
#: minutes, then revalidates it (cheaply, with the ETag).
CACHE_CONTROL = "private, max-age=300"

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
        self._served: dict[str, tuple[str, dt.datetime | None]] = {}
        self._served_lock = threading.Lock()

    def _last_modified(self, name: str, document: FeedDocument) -> dt.datetime | None:
        """The feed's Last-Modified, never earlier than the one served for different bytes of the
        same feed: a reverted edit (a session's ``updated`` set back) gives bytes that differ from
        the last ones served but an older date, and a client that sends only If-Modified-Since
        would keep its stale copy. Then the time of the change, as this server saw it, is used."""
        with self._served_lock:
            known = self._served.get(name)
            when = document.last_modified
            if known is not None:
                etag, previous = known
                if etag == document.etag:
                    return previous
                if previous is not None and (when is None or when <= previous):
                    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
                    when = max(now, previous + dt.timedelta(seconds=1))
            self._served[name] = (document.etag, when)
            return when

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
        path = str(environ.get("PATH_INFO", ""))
        name = generation.by_path.get(path) if _canonical(environ, path) else None
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
        last_modified = _not_after_now(self._last_modified(name, document))
        if last_modified is not None:
            headers.append(("Last-Modified", email.utils.format_datetime(last_modified, usegmt=True)))
        if _not_modified(environ, document.etag, last_modified):
            start_response("304 Not Modified", [(k, v) for k, v in headers if k != "Content-Type"])
            return [b""]
        start_response("200 OK", headers)
        return [b"" if method == "HEAD" else document.body]


def _canonical(environ: WSGIEnvironment, path: str) -> bool:
    """Whether the request spelled its path exactly as ``path`` (``PATH_INFO``, which the server
    has percent-decoded): a feed is served at one spelling only, so ``/%66eeds/...`` is 404. The
    raw target is ``RAW_URI`` (the embedded server and gunicorn) or ``REQUEST_URI`` (uWSGI);
    a server that gives neither is trusted as it is."""
    raw = environ.get("RAW_URI", environ.get("REQUEST_URI"))
    if raw is None:
        return True
    target = str(raw)
    if "://" in target.split("?", 1)[0]:  # an absolute-form target (a proxy request)
        return False
    return target.split("?", 1)[0] == str(environ.get("SCRIPT_NAME", "")) + path


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

"""The feed server (``peertrain serve``): the real wsgiref server on loopback, a real HTTP client.

Each test starts :func:`peertrain.calendars.serve.make_server` on 127.0.0.1 with an ephemeral port in a
thread (the ``serve`` fixture shuts it down) and talks to it with ``requests``, or with
``http.client`` where a request path must reach the server exactly as written (``requests``
removes dot segments). No network beyond loopback is used.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import icalendar
import pytest
import requests

from demo_team import Demo
from peertrain.calendars.schedule import load_schedule
from peertrain.calendars.serve import (
    CACHE_CONTROL,
    REQUEST_QUEUE_SIZE,
    SECRET_ENV,
    SECRET_FILE_ENV,
    FeedApp,
    FeedDocument,
    feed_path,
    feed_token,
    load_secret,
    log_target,
    make_app,
    make_server,
    redact,
)
from peertrain.cli import main
from peertrain.rules.loading import curricula_dir

DEMO = curricula_dir() / "demo"
SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
OTHER_SECRET = "another-secret-9876543210-zyxwvutsrqponmlkjihgfedcba"
DEMO_FEEDS = [
    "team",
    *[f"member:{m}" for m in ("PL-01", "PL-02", "PL-03", "PL-04", "PL-05", "PL-06", "PL-07", "PL-08", "PL-09",
                              "PL-10", "CC-01", "CC-02")],
    "function:prevention", "function:intervention", "function:postvention",
]
CALENDAR_TYPE = "text/calendar; charset=utf-8"
Serve = Callable[[FeedApp], str]


# -- helpers and fixtures ---------------------------------------------------------------------


def demo_app(secret: str = SECRET, *argv: str) -> FeedApp:
    """The application of ``peertrain serve --demo ARGV`` with ``secret`` in the environment."""
    return make_app(["--demo", *argv], environ={SECRET_ENV: secret})


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start apps on 127.0.0.1 (ephemeral ports) in threads; returns each one's base URL. Every
    server is shut down and closed at the end of the test."""
    running: list[tuple[object, threading.Thread]] = []

    def _serve(app: FeedApp) -> str:
        server = make_server(app, "127.0.0.1", 0)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        running.append((server, thread))
        return f"http://127.0.0.1:{server.server_port}"

    yield _serve
    for server, thread in running:
        server.shutdown()  # type: ignore[attr-defined]
        server.server_close()  # type: ignore[attr-defined]
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def app() -> FeedApp:
    """The demo team's feeds with the default selection, full names."""
    return demo_app()


@pytest.fixture
def base(app: FeedApp, serve: Serve) -> str:
    """The base URL of a running server of :func:`app`."""
    return serve(app)


@pytest.fixture
def client() -> Iterator[requests.Session]:
    """A requests session (closed afterwards)."""
    with requests.Session() as session:
        yield session


def raw_get(base: str, path: str, method: str = "GET") -> tuple[int, bytes]:
    """Send ``path`` byte for byte (no normalisation) and return the status and body."""
    host, port = base.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def demo() -> Demo:
    """The demo data, loaded once."""
    return Demo()


def http_date(when: dt.datetime) -> str:
    """An HTTP-date (IMF-fixdate)."""
    return email.utils.format_datetime(when.astimezone(dt.UTC), usegmt=True)


def unfold(data: bytes) -> str:
    """The calendar text with folded lines joined."""
    return data.decode("utf-8").replace("\r\n ", "")


# -- tokens and the secret --------------------------------------------------------------------


def test_tokens_are_hmac_sha256_of_the_feed_name_in_base32():
    """A token is the first 160 bits of HMAC-SHA256(secret, domain + name), lower-case base32."""
    digest = hmac.new(SECRET.encode(), b"peertrain feed token v1\x1fteam", hashlib.sha256).digest()
    expected = base64.b32encode(digest[:20]).decode().lower()
    assert feed_token(SECRET.encode(), "team") == expected
    assert len(expected) == 32
    assert re.fullmatch(r"[a-z2-7]{32}", expected)
    assert feed_path(SECRET.encode(), "team") == f"/feeds/{expected}.ics"
    assert feed_token(SECRET.encode(), "member:PL-01") != feed_token(SECRET.encode(), "member:PL-02")


def test_app_serves_the_default_feeds_at_their_token_paths(app):
    """By default: the team feed, one per roster member (roster order), one per function."""
    assert app.names == DEMO_FEEDS
    assert app.paths() == {name: feed_path(SECRET.encode(), name) for name in DEMO_FEEDS}
    assert len(set(app.paths().values())) == len(DEMO_FEEDS)


def test_restart_with_the_same_secret_keeps_the_urls(app, serve, client):
    """A second server with the same secret has the same URLs: a URL from the first works there."""
    again = demo_app()
    assert again.paths() == app.paths()
    first, second = serve(app), serve(again)
    path = app.paths()["member:PL-03"]
    one, two = client.get(first + path, timeout=10), client.get(second + path, timeout=10)
    assert (one.status_code, two.status_code) == (200, 200)
    assert one.content == two.content
    assert one.headers["ETag"] == two.headers["ETag"]


def test_a_different_secret_changes_every_url(app, serve, client):
    """Another secret gives other URLs, and the old ones are 404 on its server."""
    other = demo_app(OTHER_SECRET)
    assert other.names == app.names
    assert set(other.paths().values()).isdisjoint(app.paths().values())
    base = serve(other)
    assert client.get(base + app.paths()["team"], timeout=10).status_code == 404
    assert client.get(base + other.paths()["team"], timeout=10).status_code == 200


def test_no_secret_is_a_clear_error_with_status_2(monkeypatch, capsys):
    """Without a secret ``serve`` exits 2 with one line that says how to create one."""
    monkeypatch.delenv(SECRET_ENV, raising=False)
    monkeypatch.delenv(SECRET_FILE_ENV, raising=False)
    assert main(["serve", "--demo", "--port", "0"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "peertrain: error: feed secret: none given: set PEERTRAIN_FEED_SECRET or PEERTRAIN_FEED_SECRET_FILE, "
        "or give --secret-file; create one with: (umask 077; python -c \"import secrets; "
        "print(secrets.token_urlsafe(32))\" > feed-secret) and set PEERTRAIN_FEED_SECRET_FILE=feed-secret "
        "(docs/calendars.md)\n"
    )


def test_short_or_unreadable_secrets_are_refused_without_showing_them(monkeypatch, capsys, tmp_path):
    """A secret under 32 characters, or a secret file that cannot be read, exits 2; the message
    names the source but never the secret."""
    monkeypatch.delenv(SECRET_FILE_ENV, raising=False)
    monkeypatch.setenv(SECRET_ENV, "short-secret-x")
    assert main(["serve", "--demo", "--print-urls"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "peertrain: error: PEERTRAIN_FEED_SECRET: the feed secret is too short (14 characters, at least 32); "
    )
    assert "short-secret-x" not in err
    missing = tmp_path / "missing-secret"
    assert main(["serve", "--demo", "--print-urls", "--secret-file", str(missing)]) == 2
    assert capsys.readouterr().err == (
        f"peertrain: error: {missing}: the feed secret cannot be read: No such file or directory\n"
    )


def test_secret_from_a_file_equals_the_same_secret_in_the_environment(tmp_path, monkeypatch):
    """A file's secret (its final newline ignored), by option or by environment variable, gives
    the same tokens as the same secret in ``PEERTRAIN_FEED_SECRET``; the option comes first."""
    path = tmp_path / "feed-secret"
    path.write_text(SECRET + "\n", encoding="utf-8")
    path.chmod(0o600)
    assert load_secret(path, {}) == SECRET.encode()
    assert load_secret(None, {SECRET_FILE_ENV: str(path)}) == SECRET.encode()
    assert load_secret(path, {SECRET_ENV: OTHER_SECRET}) == SECRET.encode()
    assert load_secret(None, {SECRET_ENV: f"  {SECRET}\n"}) == SECRET.encode()
    from_file = make_app(["--demo", "--secret-file", str(path)], environ={})
    assert from_file.paths() == demo_app().paths()


def test_print_urls_lists_every_feed_once(monkeypatch, capsys):
    """``serve --print-urls`` prints one line per feed, name and URL, under ``--base-url``, and exits 0."""
    monkeypatch.setenv(SECRET_ENV, SECRET)
    monkeypatch.delenv(SECRET_FILE_ENV, raising=False)
    assert main(["serve", "--demo", "--print-urls", "--base-url", "https://cal.example.org/"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = [
        f"{name:<21}  https://cal.example.org{feed_path(SECRET.encode(), name)}" for name in DEMO_FEEDS
    ]
    assert lines == expected


def test_feed_selection(monkeypatch, capsys):
    """``--feeds`` picks feeds; ``member:ALL`` and ``function:ALL`` expand; an unknown member is
    left out with a warning; a malformed feed is a usage error (status 2)."""
    app = demo_app(SECRET, "--feeds", "function:postvention", "member:PL-03", "member:NOPE", "team", "team")
    assert app.names == ["function:postvention", "member:PL-03", "team"]
    assert "peertrain: warning: --feeds member:NOPE: no member with that id on the roster; not served\n" in (
        capsys.readouterr().err
    )
    monkeypatch.setenv(SECRET_ENV, SECRET)
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--demo", "--print-urls", "--feeds", "function:nonsense"])
    assert exit_info.value.code == 2
    assert "unknown function 'nonsense'" in capsys.readouterr().err


# -- responses --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["team", "member:PL-03", "function:postvention"])
def test_get_gives_200_with_content_type_etag_and_last_modified(app, base, client, demo, name):
    """200 with the exact content type, a strong ETag (SHA-256 of the bytes), Last-Modified
    from the data and the caching headers; the body is ``build_feed``'s bytes for the same data."""
    response = client.get(base + app.paths()[name], timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == CALENDAR_TYPE
    assert response.headers["ETag"] == '"' + hashlib.sha256(response.content).hexdigest()[:32] + '"'
    assert response.headers["Content-Length"] == str(len(response.content))
    assert response.headers["Cache-Control"] == CACHE_CONTROL
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.content == demo.feed(name)
    calendar = icalendar.Calendar.from_ical(response.content)
    stamps = [e.decoded("LAST-MODIFIED") for e in calendar.walk("VEVENT")] + [
        dt.datetime(2026, 11, 15, tzinfo=dt.UTC)  # the demo's as-of date
    ]
    assert response.headers["Last-Modified"] == http_date(max(stamps))
    assert len(calendar.walk("VEVENT")) == len(icalendar.Calendar.from_ical(demo.feed(name)).walk("VEVENT"))


def test_every_default_feed_is_build_feed_output(app, base, client, demo):
    """Each of the 16 default demo feeds is byte for byte what ``build_feed`` gives."""
    for name, path in app.paths().items():
        response = client.get(base + path, timeout=10)
        assert response.status_code == 200, name
        assert response.content == demo.feed(name), name


def test_if_none_match_gives_304(app, base, client):
    """A matching ETag (alone, weak-prefixed, in a list, or ``*``) gives 304 with no body and the
    same validators; a stale ETag gives 200."""
    url = base + app.paths()["team"]
    first = client.get(url, timeout=10)
    etag = first.headers["ETag"]
    for header in (etag, f"W/{etag}", f'"stale", {etag}', "*"):
        again = client.get(url, headers={"If-None-Match": header}, timeout=10)
        assert again.status_code == 304, header
        assert again.content == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Last-Modified"] == first.headers["Last-Modified"]
        assert again.headers["Cache-Control"] == CACHE_CONTROL
    stale = client.get(url, headers={"If-None-Match": '"0123456789abcdef0123456789abcdef"'}, timeout=10)
    assert stale.status_code == 200
    assert stale.content == first.content


def test_if_modified_since(app, base, client):
    """If-Modified-Since at or after Last-Modified gives 304, before it 200; an unparsable date is
    ignored; with If-None-Match present, If-Modified-Since is not consulted."""
    url = base + app.paths()["member:PL-03"]
    last_modified = client.get(url, timeout=10).headers["Last-Modified"]
    when = email.utils.parsedate_to_datetime(last_modified)
    assert client.get(url, headers={"If-Modified-Since": last_modified}, timeout=10).status_code == 304
    later = http_date(when + dt.timedelta(days=1))
    assert client.get(url, headers={"If-Modified-Since": later}, timeout=10).status_code == 304
    earlier = http_date(when - dt.timedelta(seconds=1))
    assert client.get(url, headers={"If-Modified-Since": earlier}, timeout=10).status_code == 200
    assert client.get(url, headers={"If-Modified-Since": "yesterday"}, timeout=10).status_code == 200
    both = {"If-Modified-Since": later, "If-None-Match": '"stale"'}
    assert client.get(url, headers=both, timeout=10).status_code == 200


def test_head_gives_the_headers_without_the_body(app, base, client):
    """HEAD: 200 with the GET's headers (Content-Length the GET body's length) and no body."""
    url = base + app.paths()["function:intervention"]
    get = client.get(url, timeout=10)
    head = client.head(url, timeout=10)
    assert head.status_code == 200
    assert head.content == b""
    for header in ("Content-Type", "Content-Length", "ETag", "Last-Modified", "Cache-Control"):
        assert head.headers[header] == get.headers[header], header
    assert head.headers["Content-Length"] == str(len(get.content))
    conditional = client.head(url, headers={"If-None-Match": get.headers["ETag"]}, timeout=10)
    assert conditional.status_code == 304


def test_wrong_tokens_and_other_paths_are_404(app, base, client):
    """Anything but a feed's exact path is 404 with the same short body: a well-formed token of
    another secret, an upper-case token, no ``.ics``, a trailing slash, other paths."""
    token = feed_token(SECRET.encode(), "team")
    wrong = feed_token(OTHER_SECRET.encode(), "team")
    for path in (
        f"/feeds/{wrong}.ics", f"/feeds/{token.upper()}.ics", f"/feeds/{token}", f"/feeds/{token}.ics/",
        f"/feeds/{token}.ICS", f"/feeds/{token}.ics.bak", f"/{token}.ics", "/", "/feeds", "/feeds/",
        "/favicon.ico", "/feeds/team.ics", f"/feeds/{feed_token(SECRET.encode(), 'member:NOPE')}.ics",
    ):
        response = client.get(base + path, timeout=10)
        assert response.status_code == 404, path
        assert response.content == b"Not Found\n"
        assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert client.get(f"{base}/feeds/{token}.ics?x=1", timeout=10).status_code == 200


def test_path_traversal_is_404_raw_and_percent_encoded(app, base):
    """Traversal attempts sent byte for byte (dot segments, ``%2e%2e``, ``%2f``, ``//``, NUL)
    are 404; nothing outside the feed table is ever read."""
    token = feed_token(SECRET.encode(), "team")
    for path in (
        "/feeds/../x", "/feeds/../../pyproject.toml", "/../../../etc/passwd", f"/feeds/../feeds/{token}.ics",
        "/feeds/%2e%2e/%2e%2e/etc/passwd", "/feeds/%2E%2E%2Fsessions.toml", f"/feeds/%2e%2e/feeds/{token}.ics",
        "/feeds/..%2f..%2fdemo%2fsessions.toml", "/feeds/..%5c..%5cdemo.toml", f"//feeds/{token}.ics",
        f"/feeds//{token}.ics", f"/feeds/./{token}.ics", f"/feeds/{token}.ics/..", f"/feeds/{token}.ics%00",
        "/etc/passwd", f"/{DEMO}/sessions.toml",
    ):
        status, body = raw_get(base, path)
        assert (status, body) == (404, b"Not Found\n"), path


def test_other_methods_are_405(app, base, client):
    """POST, PUT, DELETE, PATCH and OPTIONS are 405 with ``Allow: GET, HEAD``, on a feed and elsewhere."""
    url = base + app.paths()["team"]
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        for target in (url, base + "/nowhere"):
            response = client.request(method, target, timeout=10)
            assert response.status_code == 405, (method, target)
            assert response.headers["Allow"] == "GET, HEAD"
            assert response.content == b"Method Not Allowed\n"


def test_member_feeds_name_no_other_member(app, base, client, demo):
    """A member's feed (full names) names that member and no one else on the roster."""
    for member in demo.members:
        body = unfold(client.get(base + app.paths()[f"member:{member.id}"], timeout=10).content)
        assert member.name in body, member.id
        others = [m.name for m in demo.members if m.id != member.id and m.name in body]
        assert others == [], member.id


def test_privacy_initials_serves_no_full_names(serve, client, demo):
    """With ``--privacy initials`` no feed carries a member's full name."""
    app = demo_app(SECRET, "--privacy", "initials")
    base = serve(app)
    for name, path in app.paths().items():
        body = unfold(client.get(base + path, timeout=10).content)
        assert [m.name for m in demo.members if m.name in body] == [], name
        assert body == unfold(demo.feed(name, "initials"))


class _Source:
    """A source of one hand-made calendar with METHOD:PUBLISH."""

    def names(self) -> list[str]:
        return ["team"]

    def render(self, name: str) -> FeedDocument:
        calendar = icalendar.Calendar()
        calendar.add("prodid", "-//test//EN")
        calendar.add("version", "2.0")
        calendar.add("method", "PUBLISH")
        event = icalendar.Event()
        event.add("uid", "x@example.org")
        event.add("dtstamp", dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC))
        event.add("dtstart", dt.date(2026, 4, 1))
        calendar.add_component(event)
        return FeedDocument.from_calendar(calendar)


def test_method_publish_is_in_the_content_type(serve, client):
    """A calendar with METHOD:PUBLISH is served as ``text/calendar; charset=utf-8; method=PUBLISH``;
    without an as-of date, Last-Modified is the newest DTSTAMP. (peertrain's feeds have no METHOD.)"""
    app = FeedApp(_Source, SECRET.encode())
    response = client.get(serve(app) + feed_path(SECRET.encode(), "team"), timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8; method=PUBLISH"
    assert response.headers["Last-Modified"] == "Wed, 04 Mar 2026 05:06:07 GMT"
    assert b"METHOD:PUBLISH\r\n" in response.content


# -- reloading --------------------------------------------------------------------------------


def _copy_demo(tmp_path: Path) -> Path:
    folder = tmp_path / "team"
    shutil.copytree(DEMO, folder)
    return folder


def test_data_changes_are_served_under_the_same_urls(tmp_path, serve, client):
    """With ``--check-every 0`` an edited schedule is served on the next request, at the same URL,
    with a new ETag; a broken edit keeps the previous feed and logs one warning."""
    folder = _copy_demo(tmp_path)
    warnings: list[str] = []
    argv = [
        "--roster", str(folder / "roster.csv"), "--completions", str(folder / "completions.csv"),
        "--exemptions", str(folder / "exemptions.csv"), "--rules", "mn-181-9731", "example-agency",
        "--as-of", "2026-11-15", "--sessions", str(folder / "sessions.toml"), "--check-every", "0",
        "--feeds", "team",
    ]
    app = make_app(argv, environ={SECRET_ENV: SECRET})
    app._warn = warnings.append  # type: ignore[method-assign]
    url = serve(app) + app.paths()["team"]
    before = client.get(url, timeout=10)
    sessions = folder / "sessions.toml"
    text = sessions.read_text(encoding="utf-8")
    assert 'title = "Peer support team quarterly in-service"' in text
    sessions.write_text(text.replace(
        'title = "Peer support team quarterly in-service"', 'title = "Quarterly in-service (new room)"'
    ), encoding="utf-8")
    os.utime(sessions, ns=(sessions.stat().st_atime_ns, sessions.stat().st_mtime_ns + 2_000_000_000))
    after = client.get(url, timeout=10, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert "SUMMARY:Quarterly in-service (new room)" in unfold(after.content)
    assert "Peer support team quarterly in-service" not in unfold(after.content).split("DESCRIPTION")[0]
    sessions.write_text("this is not toml = = =", encoding="utf-8")
    os.utime(sessions, ns=(sessions.stat().st_atime_ns, sessions.stat().st_mtime_ns + 4_000_000_000))
    kept = client.get(url, timeout=10)
    assert kept.status_code == 200
    assert kept.content == after.content
    assert len(warnings) == 1
    assert warnings[0].startswith("the data could not be reloaded, still serving the previous feeds: ")
    assert SECRET not in warnings[0]


def test_unchanged_data_is_not_reloaded(tmp_path):
    """Without a change to the files the data is not read again; a touched file is re-read."""
    folder = _copy_demo(tmp_path)
    app = make_app(["--sessions", str(folder / "sessions.toml"), "--feeds", "team", "function:ALL"],
                   environ={SECRET_ENV: SECRET})
    assert app.names == ["team", "function:prevention", "function:intervention", "function:postvention"]
    assert app.reload_if_changed() is False
    sessions = folder / "sessions.toml"
    os.utime(sessions, ns=(sessions.stat().st_atime_ns, sessions.stat().st_mtime_ns + 1_000_000_000))
    assert app.reload_if_changed() is True
    assert app.reload_if_changed() is False


def test_sessions_only_feeds_date_from_the_newest_session(tmp_path, serve, client, catalogue):
    """Without records, Last-Modified is the newest session ``updated``."""
    app = make_app(["--sessions", str(DEMO / "sessions.toml"), "--feeds", "team"], environ={SECRET_ENV: SECRET})
    response = client.get(serve(app) + app.paths()["team"], timeout=10)
    schedule = load_schedule(DEMO / "sessions.toml", catalogue)
    assert response.headers["Last-Modified"] == http_date(max(s.updated for s in schedule.sessions))


def test_redact_hides_tokens():
    """Access-log lines show ``/feeds/…`` instead of the token."""
    token = feed_token(SECRET.encode(), "team")
    line = f'"GET /feeds/{token}.ics?x=1 HTTP/1.1" 200 1234'
    assert redact(line) == '"GET /feeds/…?x=1 HTTP/1.1" 200 1234'


# -- the command ------------------------------------------------------------------------------


def test_peertrain_serve_command_end_to_end(tmp_path):
    """``python -m peertrain serve --demo --port 0`` prints the URLs to stdout, serves them on
    loopback, and its access log (stderr) does not contain a token."""
    secret_file = tmp_path / "feed-secret"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    secret_file.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if k not in (SECRET_ENV, SECRET_FILE_ENV)}
    env[SECRET_FILE_ENV] = str(secret_file)
    log = tmp_path / "stderr.log"
    log_handle = log.open("w", encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-m", "peertrain", "serve", "--demo", "--port", "0", "--feeds", "team", "member:PL-03"],
        stdout=subprocess.PIPE, stderr=log_handle, env=env, text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline(), process.stdout.readline()]
        urls = dict(line.split() for line in lines)
        assert list(urls) == ["team", "member:PL-03"]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/feeds/[a-z2-7]{32}\.ics", urls["team"])
        assert urls["team"].endswith(feed_path(SECRET.encode(), "team"))
        with requests.Session() as session:
            response = session.get(urls["member:PL-03"], timeout=10)
            assert response.status_code == 200
            assert response.headers["Content-Type"] == CALENDAR_TYPE
            assert b"Erin Lindqvist" in response.content
        # The server logs a request after answering it: wait for the line (bounded) before stopping.
        deadline = time.monotonic() + 10
        while '"GET /feeds/' not in log.read_text(encoding="utf-8") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        process.terminate()
        process.communicate(timeout=10)
        log_handle.close()
    err = log.read_text(encoding="utf-8")
    assert feed_token(SECRET.encode(), "member:PL-03") not in err
    assert '"GET /feeds/… HTTP/1.1" 200' in err
    assert SECRET not in err


def test_app_passes_the_wsgi_validator(app):
    """``wsgiref.validate`` (PEP 3333 checks) finds nothing wrong in any kind of response:
    200, HEAD, 304, 404 and 405."""
    from wsgiref.util import setup_testing_defaults
    from wsgiref.validate import validator

    checked = validator(app)
    path = app.paths()["team"]
    results = []
    for method, target, extra in (
        ("GET", path, {}), ("HEAD", path, {}), ("GET", path, {"HTTP_IF_NONE_MATCH": "*"}),
        ("GET", "/x", {}), ("HEAD", "/x", {}), ("POST", path, {}),
    ):
        environ = {"REQUEST_METHOD": method, "PATH_INFO": target, "QUERY_STRING": "", "SCRIPT_NAME": "", **extra}
        setup_testing_defaults(environ)
        seen: list[str] = []

        def start_response(status, headers, exc_info=None, seen=seen):
            seen.append(status)
            return lambda data: None

        iterable = checked(environ, start_response)
        body = b"".join(iterable)
        iterable.close()
        results.append((seen[0], len(body) > 0))
    assert results == [
        ("200 OK", True), ("200 OK", False), ("304 Not Modified", False),
        ("404 Not Found", True), ("404 Not Found", False), ("405 Method Not Allowed", True),
    ]


# -- canonical paths, the log, refusals, bursts -----------------------------------------------


def _serve_logging(app: FeedApp) -> tuple[str, Callable[[], str], Callable[[], None]]:
    """Start the embedded server with its standard error captured; returns the base URL, a
    function giving what it logged so far, and one stopping it."""
    import io
    from contextlib import redirect_stderr

    buffer = io.StringIO()
    server = make_server(app, "127.0.0.1", 0)

    def run() -> None:
        with redirect_stderr(buffer):
            server.serve_forever(poll_interval=0.05)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.server_port}", buffer.getvalue, stop


def test_only_the_canonical_spelling_of_a_feed_path_is_served(app):
    """``/%66eeds/<token>.ics``, a percent-encoded token, ``/feeds\\..\\<token>.ics`` and other
    spellings of a feed's path are 404; the canonical path (with or without a query) is 200."""
    token = feed_token(SECRET.encode(), "team")
    encoded = "".join(f"%{ord(c):02x}" for c in token)
    base, _logged, stop = _serve_logging(app)
    try:
        assert raw_get(base, f"/feeds/{token}.ics")[0] == 200
        assert raw_get(base, f"/feeds/{token}.ics?x=1")[0] == 200
        for path in (
            f"/%66eeds/{token}.ics", f"/feeds/{encoded}.ics", f"/feeds/{token}%2eics", f"/feeds%2f{token}.ics",
            f"/feeds\\..\\{token}.ics", f"/feeds\\{token}.ics", f"http://127.0.0.1/feeds/{token}.ics",
            f"/feeds/{token[:16]}%{ord(token[16]):02X}{token[17:]}.ics",
        ):
            assert raw_get(base, path) == (404, b"Not Found\n"), path
    finally:
        stop()


def test_no_spelling_of_a_request_puts_a_token_in_the_log(app):
    """Whatever the request looked like (canonical, percent-encoded, backslashes, a token split
    over segments, an unreadable request line, a 70,000-character path), no run of the token
    longer than a few characters reaches the server's log."""
    token = feed_token(SECRET.encode(), "team")
    encoded = "".join(f"%{ord(c):02x}" for c in token)
    base, logged, stop = _serve_logging(app)
    try:
        for path in (
            f"/feeds/{token}.ics", f"/feeds/{token}.ics?x={token}", f"/%66eeds/{token}.ics", f"/feeds/{encoded}.ics",
            f"/feeds\\..\\{token}", f"/{token}", f"/feeds/{token[:8]}/{token[8:16]}/{token[16:24]}/{token[24:]}",
            f"//feeds//{token}.ics",
        ):
            raw_get(base, path)
        host, port = base.removeprefix("http://").split(":")
        for request in (f"GET /feeds/{token}.ics HTTP/1.1 extra\r\n\r\n", f"BREW {token}\r\n\r\n",
                        f"GET /feeds/{token}.ics?{'a' * 70_000} HTTP/1.1\r\n\r\n"):
            with socket.create_connection((host, int(port)), timeout=10) as connection:
                connection.sendall(request.encode())
                connection.recv(65536)
    finally:
        stop()
    log = logged()
    assert log.count("\n") >= 11
    assert '"GET /feeds/… HTTP/1.1" 200' in log
    assert '"GET /… HTTP/1.1" 404' in log
    for i in range(len(token) - 7):
        assert token[i : i + 8] not in log, token[i : i + 8]
        assert encoded[3 * i : 3 * i + 24] not in log


def test_a_very_long_path_is_refused_like_any_other_request():
    """A 70,000-character path gets a short plain-text 414 (no HTML error page)."""
    base, _logged, stop = _serve_logging(demo_app())
    try:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as connection:
            connection.sendall(f"GET /{'a' * 70_000} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            response = b""
            while chunk := connection.recv(65536):
                response += chunk
    finally:
        stop()
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.0 414 Request-URI Too Long"
    assert b"Content-Type: text/plain; charset=utf-8" in head
    assert b"Cache-Control: no-store" in head
    assert body == b"Request-URI Too Long\n"


def test_redact_hides_every_token_like_run():
    """:func:`redact` hides ``/feeds/`` paths and any other run of 12 or more characters that
    could be a token (percent-encoded too); :func:`log_target` shows only the canonical feed path."""
    token = feed_token(SECRET.encode(), "team")
    encoded = "".join(f"%{ord(c):02x}" for c in token)
    assert redact(f'"GET /%66eeds/{token}.ics HTTP/1.1" 200 5') == '"GET /%66eeds/… HTTP/1.1" 200 5'
    assert token not in redact(f"message {token} and {encoded}")
    assert log_target(f"/feeds/{token}.ics") == "/feeds/…"
    assert log_target(f"/feeds/{token}.ics?a=b") == "/feeds/…?…"
    assert log_target(f"/%66eeds/{token}.ics") == "/…"


def test_listen_backlog_holds_a_burst_of_20_connections(app):
    """The server's listen backlog is raised from socketserver's 5; 20 concurrent clients each
    fetching a feed three times all get 200 (timing is measured in benchmarks/bench_serve.py)."""
    from concurrent.futures import ThreadPoolExecutor

    base, _logged, stop = _serve_logging(app)
    path = feed_path(SECRET.encode(), "team")
    try:
        server_queue = REQUEST_QUEUE_SIZE
        assert server_queue >= 64

        def fetch(_: int) -> list[int]:
            return [raw_get(base, path)[0] for _ in range(3)]

        with ThreadPoolExecutor(20) as pool:
            statuses = [s for batch in pool.map(fetch, range(20), timeout=60) for s in batch]
    finally:
        stop()
    assert statuses == [200] * 60


def test_last_modified_never_goes_backwards_when_the_bytes_change(tmp_path, serve, client):
    """An edit that is then reverted (the session's ``updated`` set back) gives new bytes with an
    older newest DTSTAMP: Last-Modified does not go back, so a client that sends only
    If-Modified-Since fetches the new bytes instead of keeping its stale copy."""
    folder = _copy_demo(tmp_path)
    sessions = folder / "sessions.toml"
    original = sessions.read_text(encoding="utf-8")
    app = make_app(["--sessions", str(sessions), "--feeds", "team", "--check-every", "0"],
                   environ={SECRET_ENV: SECRET})
    url = serve(app) + app.paths()["team"]

    def save(text: str, step: int) -> None:
        sessions.write_text(text, encoding="utf-8")
        os.utime(sessions, ns=(sessions.stat().st_atime_ns, sessions.stat().st_mtime_ns + step * 1_000_000_000))

    first = client.get(url, timeout=10)
    save(original.replace("updated = 2026-11-02T16:45:00Z", "updated = 2026-11-03T10:00:00Z")
         .replace('location = "Lakes Region Public Safety Training Center, Room B"', 'location = "Room C"'), 2)
    edited = client.get(url, timeout=10)
    assert email.utils.parsedate_to_datetime(edited.headers["Last-Modified"]) > \
        email.utils.parsedate_to_datetime(first.headers["Last-Modified"])
    save(original, 4)
    reverted = client.get(url, timeout=10, headers={"If-Modified-Since": edited.headers["Last-Modified"]})
    assert reverted.status_code == 200
    assert reverted.content == first.content
    assert email.utils.parsedate_to_datetime(reverted.headers["Last-Modified"]) > \
        email.utils.parsedate_to_datetime(edited.headers["Last-Modified"])
    again = client.get(url, timeout=10, headers={"If-Modified-Since": reverted.headers["Last-Modified"]})
    assert again.status_code == 304

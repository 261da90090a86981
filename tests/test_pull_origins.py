"""Credentials stay with their server: hostile ``more`` links and redirects, against real servers on
loopback. A second server (another port, so another origin) stands for the attacker and records
whatever reaches it: it must receive nothing, and the pull must store nothing."""

from __future__ import annotations

import base64
import datetime as dt
import socket

import pytest

import xapi_statements as xs
from peertrain.cli import main
from peertrain.pull import PullError, XapiSource, pull_moodle, pull_xapi
from peertrain.pull.safety import is_loopback, origin
from peertrain.rules.loading import curricula_dir
from pull_fixtures import PASSWORD, MemoryLRS, catalogue_with_lrs_courses, team_ledger, xapi_source
from pull_server import LocalServer, Reply, Request
from test_pull_moodle import TOKEN, MoodleSite, moodle_source

__all__ = ["team_ledger"]  # a fixture

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
BASIC = base64.b64encode(f"peertrain:{PASSWORD}".encode()).decode()


def attacker(_request: Request) -> Reply:
    return Reply(json={"statements": []})


def assert_untouched(evil: LocalServer) -> None:
    """The other origin received no request at all (so no Authorization header, no token)."""
    assert evil.log == []


def first_page_then(more: str, lrs: MemoryLRS | None = None):
    """An LRS (the FIRST statements, unless ``lrs`` is given) whose 'more' is ``more``."""
    if lrs is None:
        lrs = MemoryLRS()
        lrs.load(xs.FIRST)

    def handler(request: Request) -> Reply:
        reply = lrs(request)
        return Reply(reply.status, {**reply.json, "more": more}) if reply.status == 200 else reply

    return handler


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_more_link_to_another_origin_is_refused(team_ledger, host):
    """'more' naming another port (same host, or the same machine by another name) is not
    followed: the other server gets nothing, no batch is stored, the cursor does not move."""
    with LocalServer(attacker) as evil:
        port = evil.url.rsplit(":", 1)[1]
        with LocalServer(first_page_then(f"http://{host}:{port}/steal")) as lrs, pytest.raises(PullError) as caught:
            pull_xapi(team_ledger, xapi_source(lrs.url), catalogue_with_lrs_courses(), now=NOW)
    assert_untouched(evil)
    assert len(lrs.log) == 1
    message = str(caught.value)
    assert message.startswith("xapi source 'pinelake-lrs': the LRS's 'more' link points to ")
    assert "not followed" in message
    assert PASSWORD not in message
    assert BASIC not in message
    assert team_ledger.batches() == []
    assert team_ledger.cursor("xapi:pinelake-lrs") is None


def test_a_more_link_on_the_same_origin_in_other_spelling_is_followed(team_ledger):
    """The origin is compared normalised: host case and an explicit default port do not matter;
    another port, scheme or host is another origin."""
    assert origin("HTTPS://LRS.Example:443/xAPI/") == origin("https://lrs.example/b") == ("https", "lrs.example", 443)
    assert origin("http://lrs.example:80/") == origin("http://LRS.EXAMPLE/")
    assert origin("https://lrs.example:8443/") != origin("https://lrs.example/")
    assert origin("http://lrs.example/") != origin("https://lrs.example/")
    assert origin("http://127.0.0.1/") != origin("http://localhost/")
    assert origin("ftp://lrs.example/") is None
    assert origin("http://lrs.example:99999/") is None
    lrs = MemoryLRS()
    lrs.load(xs.FIRST)
    with LocalServer(lrs) as server:
        port = server.url.rsplit(":", 1)[1]

        def shouting(request: Request) -> Reply:  # 'more' as an absolute URL, the host in capitals
            reply = lrs(request)
            if reply.status == 200 and reply.json.get("more"):
                return Reply(200, {**reply.json, "more": f"HTTP://LOCALHOST:{port}{reply.json['more']}"})
            return reply

        server.handler = shouting
        source = xapi_source(f"http://localhost:{port}")
        result = pull_xapi(team_ledger, source, catalogue_with_lrs_courses(), now=NOW)
    assert (result.fetched, result.requests) == (8, 3)


def test_a_refused_more_link_after_a_good_pull_leaves_the_cursor(team_ledger):
    """A later pull meeting a hostile 'more' stores nothing and keeps the earlier cursor."""
    lrs = MemoryLRS()
    lrs.load(xs.FIRST)
    with LocalServer(lrs) as server:
        pull_xapi(team_ledger, xapi_source(server.url), catalogue_with_lrs_courses(), now=NOW)
    cursor, batches = team_ledger.cursor("xapi:pinelake-lrs"), team_ledger.batches()
    assert cursor is not None
    lrs.load(xs.second())
    with LocalServer(attacker) as evil, LocalServer(first_page_then(evil.url + "/steal", lrs)) as hostile:
        with pytest.raises(PullError, match="not followed"):
            pull_xapi(team_ledger, xapi_source(hostile.url), catalogue_with_lrs_courses(), now=NOW)
        assert hostile.log[0].query["since"] == cursor
    assert_untouched(evil)
    assert team_ledger.cursor("xapi:pinelake-lrs") == cursor
    assert team_ledger.batches() == batches


def redirect_to(location: str, status: int = 307):
    def handler(_request: Request) -> Reply:
        return Reply(status, {}, headers={"Location": location})

    return handler


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_an_xapi_redirect_to_another_origin_is_not_followed(team_ledger, status):
    """A redirect off the LRS's origin is refused: the other server never hears of it."""
    with LocalServer(attacker) as evil, LocalServer(redirect_to(evil.url + "/steal", status)) as lrs, pytest.raises(
        PullError, match="another origin: not followed"
    ) as caught:
        pull_xapi(team_ledger, xapi_source(lrs.url), catalogue_with_lrs_courses(), now=NOW)
    assert_untouched(evil)
    assert len(lrs.log) == 1
    assert str(caught.value).startswith("xapi source 'pinelake-lrs': GET ")
    assert PASSWORD not in str(caught.value)
    assert team_ledger.batches() == []


def test_a_moodle_redirect_to_another_origin_does_not_replay_the_token(team_ledger, monkeypatch):
    """A 307 from Moodle to another origin would re-POST the token: it is not followed."""
    monkeypatch.setenv("PEERTRAIN_TEST_MOODLE_TOKEN", TOKEN)
    with LocalServer(attacker) as evil, LocalServer(redirect_to(evil.url + "/steal", 307)) as site, pytest.raises(
        PullError, match="another origin: not followed"
    ) as caught:
        pull_moodle(team_ledger, moodle_source(site.url), catalogue_with_lrs_courses(), now=NOW)
    assert_untouched(evil)
    assert len(site.log) == 1
    assert TOKEN not in str(caught.value)
    assert team_ledger.batches() == []


def test_same_origin_redirects_are_followed(team_ledger, monkeypatch):
    """A redirect within the origin works: xAPI GET (302) and Moodle POST (308, the form sent again
    to the same site)."""
    lrs = MemoryLRS()
    lrs.load(xs.FIRST)

    def moved(request: Request) -> Reply:
        if request.path == "/old/xAPI/statements":
            query = "&".join(f"{k}={v}" for k, v in request.query.items())
            return Reply(302, {}, headers={"Location": f"/xAPI/statements?{query}"})
        return lrs(request)

    with LocalServer(moved) as server:
        result = pull_xapi(team_ledger, xapi_source(server.url + "/old"), catalogue_with_lrs_courses(), now=NOW)
    assert result.batch.counts.imported == 4
    assert server.log[1].headers["authorization"] == f"Basic {BASIC}"

    monkeypatch.setenv("PEERTRAIN_TEST_MOODLE_TOKEN", TOKEN)
    site = MoodleSite()

    def relocated(request: Request) -> Reply:
        if request.path.startswith("/old/"):
            return Reply(308, {}, headers={"Location": request.path.removeprefix("/old")})
        return site(request)

    with LocalServer(relocated) as server:
        moodle = pull_moodle(team_ledger, moodle_source(server.url + "/old"), catalogue_with_lrs_courses(), now=NOW)
    assert moodle.batch.counts.imported == 3
    assert [r.method for r in server.log[:2]] == ["POST", "POST"]


def test_a_redirect_loop_is_refused(team_ledger):
    """A same-origin redirect is followed three times at most, then refused."""
    with LocalServer(redirect_to("/xAPI/statements?again=1", 302)) as lrs, pytest.raises(
        PullError, match=r"more than 3 redirects"
    ):
        pull_xapi(team_ledger, xapi_source(lrs.url), catalogue_with_lrs_courses(), now=NOW)
    assert len(lrs.log) == 4
    assert team_ledger.batches() == []


def test_plain_http_to_a_remote_host_is_refused_before_any_traffic(team_ledger, monkeypatch):
    """A source built in Python with http:// to a host that is not loopback is refused before any
    name lookup or connection."""

    def no_network(*_args, **_kwargs):
        raise AssertionError("no network traffic was expected")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    source = XapiSource(name="remote", endpoint="http://lrs.example.org/xAPI/", username="peertrain",
                        password=xapi_source("http://x").password)
    with pytest.raises(PullError, match=r"plain http:// .* use https://") as caught:
        pull_xapi(team_ledger, source, catalogue_with_lrs_courses(), now=NOW)
    assert str(caught.value).startswith("xapi source 'remote': http://lrs.example.org/xAPI/statements sends")
    assert team_ledger.batches() == []


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.8.9.10", True), ("::1", True), ("[::1]", True), ("localhost", True),
     ("LOCALHOST", True), ("10.0.0.1", False), ("lrs.example.org", False), ("localhost.example", False),
     ("0.0.0.0", False)],
)
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


@pytest.fixture
def cli_ledger(tmp_path, capsys):
    path = tmp_path / "team.db"
    roster = str(curricula_dir() / "demo" / "roster.csv")
    assert main(["ledger", "init", str(path), "--timezone", "America/Chicago", "--roster", roster]) == 0
    capsys.readouterr()
    return path


def test_the_command_line_reports_a_refused_redirect_in_one_line(tmp_path, cli_ledger, capsys, monkeypatch):
    """'peertrain pull' ends with status 2 and one line naming the source; nothing is printed of
    the secret, the other server receives nothing."""
    monkeypatch.setenv("PEERTRAIN_TEST_LRS_PASSWORD", PASSWORD)
    with LocalServer(attacker) as evil, LocalServer(redirect_to(evil.url + "/steal")) as lrs:
        sources = tmp_path / "sources.toml"
        sources.write_text(f'[xapi.lrs]\nendpoint = "{lrs.url}/xAPI/"\nusername = "peertrain"\n'
                           'password = "env:PEERTRAIN_TEST_LRS_PASSWORD"\n')
        code = main(["pull", "xapi", "--source", "lrs", "--ledger", str(cli_ledger), "--sources", str(sources)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("peertrain: error: xapi source 'lrs': GET ")
    assert PASSWORD not in captured.err
    assert BASIC not in captured.err
    assert_untouched(evil)

"""Hostile answers against real servers on loopback: bodies without end, trickles, error bodies
that echo the credentials. Each ends in a PullError naming the source, nothing stored, and no
form of the secret in any message."""

from __future__ import annotations

import base64
import json
import logging
import time
import tracemalloc
import urllib.parse

import pytest

from peertrain.pull import PullError, RetryPolicy, pull_moodle, pull_xapi
from pull_fixtures import PASSWORD, catalogue_with_lrs_courses, team_ledger, xapi_source
from pull_server import LocalServer, Reply, Request
from test_pull_moodle import TOKEN, moodle_source

__all__ = ["team_ledger"]  # a fixture

KIB = 1024
SMALL = RetryPolicy(connect_timeout=2, read_timeout=2, attempts=3, backoff=0.01, deadline=30, max_bytes=256 * KIB)
BASIC = base64.b64encode(f"peertrain:{PASSWORD}".encode()).decode()
#: Every form of the password a server could echo.
FORMS = [
    PASSWORD, BASIC, base64.b64encode(PASSWORD.encode()).decode(), urllib.parse.quote(PASSWORD, safe=""),
    urllib.parse.quote_plus(PASSWORD), urllib.parse.quote(PASSWORD), json.dumps(PASSWORD)[1:-1],
]


def assert_nothing_stored(ledger):
    assert ledger.batches() == []
    assert ledger.cursor("xapi:pinelake-lrs") is None


def pull(ledger, url, policy=SMALL):
    return pull_xapi(ledger, xapi_source(url, policy=policy), catalogue_with_lrs_courses())


def test_an_endless_body_is_cut_at_the_size_cap_with_memory_bounded(team_ledger):
    """A body that goes on (no length announced) is refused once it passes the cap; not retried;
    memory stays near the cap, not near what the server would send."""
    chunk = b" " * (64 * KIB)
    with LocalServer(lambda _r: Reply(body=chunk, repeat=4096)) as server:  # up to 256 MiB
        tracemalloc.start()
        try:
            with pytest.raises(PullError) as caught:
                pull(team_ledger, server.url)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    message = str(caught.value)
    assert message.startswith(f"xapi source 'pinelake-lrs': GET {server.url}/xAPI/statements: ")
    assert "larger than the limit of 262,144 bytes" in message
    assert len(server.log) == 1
    assert server.sent < 64 * 1024 * KIB
    assert peak < 8 * 1024 * KIB
    assert_nothing_stored(team_ledger)


def test_an_announced_length_over_the_cap_is_refused_before_reading(team_ledger):
    """A Content-Length above the cap is refused at once."""
    with LocalServer(lambda _r: Reply(body=b"[" + b" " * (300 * KIB) + b"]")) as server, pytest.raises(
        PullError, match="larger than the limit"
    ):
        pull(team_ledger, server.url)
    assert len(server.log) == 1
    assert_nothing_stored(team_ledger)


def test_a_trickling_body_is_stopped_by_the_overall_deadline(team_ledger):
    """One byte every 0.2 s never trips the read timeout, but the whole request has a deadline."""
    policy = RetryPolicy(connect_timeout=2, read_timeout=2, attempts=3, backoff=0.01, deadline=1.5)
    with LocalServer(lambda _r: Reply(body=b" ", repeat=200, pace=0.2)) as server:
        start = time.monotonic()
        with pytest.raises(PullError) as caught:
            pull(team_ledger, server.url, policy)
        elapsed = time.monotonic() - start
    assert 1.4 < elapsed < 4
    assert "no complete answer within the deadline of 1.5 s" in str(caught.value)
    assert str(caught.value).startswith("xapi source 'pinelake-lrs': GET ")
    assert len(server.log) == 1  # not retried
    assert_nothing_stored(team_ledger)


def test_slow_headers_count_against_the_deadline(team_ledger):
    """An answer whose headers come after the deadline is refused by it, not retried."""
    policy = RetryPolicy(connect_timeout=2, read_timeout=5, attempts=3, backoff=0.01, deadline=0.5)
    with LocalServer(lambda _r: Reply(json={"statements": []}, delay=1.5)) as server:
        start = time.monotonic()
        with pytest.raises(PullError, match=r"deadline of 0\.5 s"):
            pull(team_ledger, server.url, policy)
        assert time.monotonic() - start < 1.4
    assert len(server.log) == 1


def echo_headers(status: int):
    """A server answering ``status`` with every request header (and body) echoed in the body."""

    def handler(request: Request) -> Reply:
        lines = [f"{k}: {v}" for k, v in request.headers.items()] + [request.body.decode()]
        return Reply(status, body="\n".join(lines).encode())

    return handler


def test_an_error_body_echoing_the_authorization_header_is_redacted(team_ledger, caplog):
    """A 400 that echoes the request headers would show 'Authorization: Basic base64(user:pass)':
    the message has it as ***, on one line, quoting at most 200 characters of the body."""
    caplog.set_level(logging.DEBUG)
    with LocalServer(echo_headers(400)) as server, pytest.raises(PullError) as caught:
        pull(team_ledger, server.url)
    message = str(caught.value)
    assert "authorization: Basic ***" in message
    assert "\n" not in message
    quoted = message.split("HTTP 400 Bad Request: ", 1)[1]
    assert len(quoted) <= 200
    for form in FORMS:
        assert form not in message + caplog.text
    assert_nothing_stored(team_ledger)


@pytest.mark.parametrize("form", FORMS)
def test_every_encoded_form_of_the_password_is_redacted(team_ledger, form):
    """Whatever form of the password a server echoes, the message shows ***."""
    body = f"rejected {form} for peertrain".encode()
    with LocalServer(lambda _r: Reply(400, body=body)) as server, pytest.raises(PullError) as caught:
        pull(team_ledger, server.url)
    assert str(caught.value).endswith("rejected *** for peertrain")


def test_a_secret_across_the_excerpt_limit_is_not_partly_quoted(team_ledger):
    """The body is redacted whole before it is cut: no prefix of the secret survives the cut."""
    body = ("x" * 195 + " " + PASSWORD).encode()
    with LocalServer(lambda _r: Reply(400, body=body)) as server, pytest.raises(PullError) as caught:
        pull(team_ledger, server.url)
    assert PASSWORD[:5] not in str(caught.value)


def test_a_moodle_error_echoing_the_token_is_redacted(team_ledger, monkeypatch):
    """Moodle's own error (HTTP 200) quoting the request: the token, also percent-encoded, is ***."""
    monkeypatch.setenv("PEERTRAIN_TEST_MOODLE_TOKEN", TOKEN)

    def echo(request: Request) -> Reply:
        return Reply(json={"exception": "moodle_exception", "errorcode": "invalidparameter",
                           "message": "Invalid parameter: " + request.body.decode() + " " + TOKEN})

    with LocalServer(echo) as server, pytest.raises(PullError) as caught:
        pull_moodle(team_ledger, moodle_source(server.url), catalogue_with_lrs_courses())
    message = str(caught.value)
    assert message.startswith("moodle source 'cops-portal': Moodle refused core_course_get_courses_by_field: ")
    assert "wstoken=***" in message
    assert TOKEN not in message
    assert len(message) < 400
    assert team_ledger.batches() == []


def test_a_rejected_statement_echoing_the_password_is_stored_redacted(team_ledger, tmp_path):
    """A rejected statement keeps its JSON as evidence: any form of the password in it is ***."""
    statement = {"id": "00000000-0000-4000-8000-000000000099", "verb": {"id": "http://adlnet.gov/expapi/verbs/completed"},
                 "actor": {"objectType": "Agent", "name": f"{PASSWORD} {BASIC}"}, "object": {"id": "urn:x"},
                 "stored": "2026-11-20T08:00:01Z"}
    with LocalServer(lambda _r: Reply(json={"statements": [statement]})) as server:
        result = pull(team_ledger, server.url)
    assert result.batch.counts.rejected == 1
    [(_, row)] = team_ledger.rejected()
    assert "*** ***" in row.raw[0]
    team_ledger.close()
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("team.db*"))
    for form in FORMS:
        assert form.encode() not in stored

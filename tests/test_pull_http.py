"""Faults while pulling, against a real HTTP server on loopback: each ends in the right retry or a
clear error, never in a half-written batch, and no secret appears anywhere."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import socket

import pytest

import xapi_statements as xs
from peertrain.pull import AuthError, HttpClient, PullError, RetryPolicy, pull_xapi
from peertrain.pull.xapi import XAPI_VERSION, client_for
from pull_fixtures import PASSWORD, MemoryLRS, catalogue_with_lrs_courses, team_ledger, xapi_source
from pull_server import LocalServer, Reply, script

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
FAST = RetryPolicy(connect_timeout=1, read_timeout=0.3, attempts=3, backoff=0.5, max_delay=30)
PAGE = {"statements": [xs.statement(1, xs.COMPLETED, xs.DANA, xs.WELLNESS, timestamp="2025-03-05T02:30:00Z")
                       | {"stored": "2026-11-20T08:00:01Z"}]}


__all__ = ["team_ledger"]  # a fixture


def pull(ledger, url, sleeps=None, policy=FAST):
    source = xapi_source(url, page_size=100, policy=policy)
    client = HttpClient(
        "xapi source 'pinelake-lrs'", auth=("peertrain", PASSWORD), headers={"X-Experience-API-Version": XAPI_VERSION},
        policy=policy, secrets=[PASSWORD], sleep=(sleeps.append if sleeps is not None else lambda _s: None),
    )
    return pull_xapi(ledger, source, catalogue_with_lrs_courses(), now=NOW, client=client)


def assert_nothing_stored(ledger):
    assert ledger.batches() == []
    assert ledger.cursor("xapi:pinelake-lrs") is None


def test_a_read_timeout_is_retried(team_ledger):
    """A first answer slower than the read timeout is abandoned and the request retried."""
    with LocalServer(script(Reply(json=PAGE, delay=1.0), Reply(json=PAGE))) as server:
        result = pull(team_ledger, server.url)
    assert len(server.log) == 2
    assert result.batch.counts.imported == 1


def test_timeouts_on_every_attempt_end_in_a_clear_error(team_ledger):
    """After the last attempt the error names the timeouts and says nothing was stored."""
    with LocalServer(script(Reply(json=PAGE, delay=0.8))) as server, pytest.raises(PullError) as caught:
        pull(team_ledger, server.url)
    assert str(caught.value) == (
        f"xapi source 'pinelake-lrs': GET {server.url}/xAPI/statements: timed out (connect 1 s, read 0.3 s), "
        "3 attempt(s); nothing of this pull was stored"
    )
    assert len(server.log) == 3
    assert_nothing_stored(team_ledger)


def test_503_then_success_backs_off_exponentially(team_ledger):
    """5xx answers are retried after 0.5 s, then 1 s (the backoff doubles)."""
    sleeps: list[float] = []
    with LocalServer(script(Reply(503, {"detail": "busy"}), Reply(502, {}), Reply(json=PAGE))) as server:
        result = pull(team_ledger, server.url, sleeps)
    assert sleeps == [0.5, 1.0]
    assert result.batch.counts.imported == 1


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), ("120", 30.0)])
def test_429_honours_retry_after_capped(team_ledger, header, expected):
    """A 429's Retry-After (seconds) sets the wait, capped at max_delay."""
    sleeps: list[float] = []
    with LocalServer(script(Reply(429, {}, headers={"Retry-After": header}), Reply(json=PAGE))) as server:
        pull(team_ledger, server.url, sleeps)
    assert sleeps == [expected]


def test_retry_after_as_an_http_date(team_ledger):
    """Retry-After may be an HTTP date: the wait is the time until then."""
    sleeps: list[float] = []
    when = email.utils.format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20), usegmt=True)
    with LocalServer(script(Reply(429, {}, headers={"Retry-After": when}), Reply(json=PAGE))) as server:
        pull(team_ledger, server.url, sleeps)
    assert 15 < sleeps[0] <= 20


def test_401_is_bad_credentials_and_not_retried(team_ledger, caplog):
    """Wrong credentials: one request, an AuthError saying so, no secret in it or in the log."""
    caplog.set_level(logging.DEBUG)
    with LocalServer(script(Reply(401, {"detail": "Invalid authentication credentials"}))) as server, (
        pytest.raises(AuthError, match=r"rejected the credentials \(HTTP 401\)")
    ) as caught:
        pull(team_ledger, server.url)
    assert len(server.log) == 1
    assert PASSWORD not in str(caught.value) + caplog.text
    assert_nothing_stored(team_ledger)


def test_other_4xx_are_not_retried(team_ledger):
    """A 404 (a wrong endpoint) is reported at once with the start of the body."""
    with LocalServer(script(Reply(404, {"detail": "Not Found"}))) as server, pytest.raises(PullError) as caught:
        pull(team_ledger, server.url)
    assert len(server.log) == 1
    assert str(caught.value).endswith('HTTP 404 Not Found: {"detail": "Not Found"}')


def test_a_body_cut_short_is_retried_then_reported(team_ledger):
    """A connection that breaks mid-body is retried; when it always does, a clear error."""
    with LocalServer(script(Reply(json=PAGE, cut=20), Reply(json=PAGE))) as server:
        assert pull(team_ledger, server.url).batch.counts.imported == 1
    team_ledger._db.execute("DELETE FROM cursors")
    with LocalServer(script(Reply(json=PAGE, cut=20))) as server, pytest.raises(
        PullError, match="the connection broke while the answer was being read, 3 attempt"
    ):
        pull(team_ledger, server.url)


def test_truncated_json_is_a_clear_error(team_ledger):
    """A complete HTTP answer whose JSON is cut off is not retried: it is reported, nothing stored."""
    with LocalServer(script(Reply(body=b'{"statements": [{"id": "x"'))) as server, pytest.raises(
        PullError, match=r"the answer is not complete JSON \(26 bytes, HTTP 200\); nothing of this pull was stored"
    ):
        pull(team_ledger, server.url)
    assert_nothing_stored(team_ledger)


def test_a_failure_on_a_later_page_stores_nothing(team_ledger):
    """Page 1 arrives, page 2 fails: no batch, no cursor; the next pull starts from the start."""
    lrs = MemoryLRS()
    lrs.load(xs.FIRST)
    calls = {"n": 0}

    def flaky(request):
        calls["n"] += 1
        return lrs(request) if calls["n"] == 1 else Reply(500, {"detail": "boom"})

    with LocalServer(flaky) as server, pytest.raises(PullError, match="HTTP 500, 3 attempt"):
        pull_xapi(team_ledger, xapi_source(server.url), catalogue_with_lrs_courses(), now=NOW)
    assert_nothing_stored(team_ledger)
    assert list(team_ledger.records()) == []


def test_connection_refused_is_retried_then_reported(team_ledger):
    """Nothing listening: retried, then 'cannot connect'."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(PullError, match=r"GET http://127.0.0.1:\d+/xAPI/statements: cannot connect, 3 attempt"):
        pull(team_ledger, f"http://127.0.0.1:{port}")


def test_tls_is_verified_by_default_and_https_to_a_plain_server_fails_clearly(team_ledger, monkeypatch):
    """The session verifies certificates unless the source turns it off; a TLS failure is named."""
    with LocalServer(script(Reply(json=PAGE))) as server:
        source = xapi_source(server.url.replace("http://", "https://"), policy=FAST)
        client = client_for(source)
        assert client.session.verify is True
        with pytest.raises(PullError, match="TLS failed"):
            pull_xapi(team_ledger, source, catalogue_with_lrs_courses(), now=NOW, client=client)


def test_secrets_never_reach_logs_errors_or_the_ledger(team_ledger, caplog, tmp_path):
    """The password is in no log line, error, repr or stored batch field, even when the server
    echoes it back in an error body."""
    caplog.set_level(logging.DEBUG)
    lrs = MemoryLRS()
    lrs.load(xs.FIRST)
    with LocalServer(lrs) as server:
        source = xapi_source(server.url)
        result = pull_xapi(team_ledger, source, catalogue_with_lrs_courses(), now=NOW)
    with LocalServer(script(Reply(400, {"detail": f"bad password {PASSWORD}"}))) as server, pytest.raises(
        PullError
    ) as caught:
        pull(team_ledger, server.url)
    assert "***" in str(caught.value)
    batch = result.batch
    stored = " ".join([batch.source, batch.profile, batch.file_name, batch.file_hash, repr(source)])
    text = (tmp_path / "team.db").read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("team.db-*"))
    for place in (str(caught.value), caplog.text, stored, repr(caught.value)):
        assert PASSWORD not in place
    assert PASSWORD.encode() not in text


@pytest.mark.parametrize(
    ("secret", "text", "expected"),
    [
        # A one-letter password must not mangle the message around it...
        ("x", "xapi source 'lrs': GET http://127.0.0.1:9/xAPI/statements", None),
        # ...but stands redacted where it stands alone, also percent-encoded.
        ("x", "token=x&user=y", "token=***&user=y"),
        ("a b", "password a%20b rejected", "password *** rejected"),
        # A long secret is redacted wherever it appears, inside other text too.
        ("s3cretPassw0rd", "invalid tokens3cretPassw0rdEND", "invalid token***END"),
    ],
)
def test_redaction_of_short_and_long_secrets(secret, text, expected):
    client = HttpClient("test", secrets=[secret])
    try:
        assert client.redact(text) == (text if expected is None else expected)
    finally:
        client.close()


def test_a_short_password_does_not_mangle_the_connection_error(team_ledger):
    """The error of a pull with the password 'x' names the source and URL intact."""
    source = xapi_source("http://127.0.0.1:9", page_size=100, policy=FAST)
    client = HttpClient(
        "xapi source 'pinelake-lrs'", auth=("peertrain", "x"), policy=FAST, secrets=["x"], sleep=lambda _s: None,
    )
    with pytest.raises(PullError) as caught:
        pull_xapi(team_ledger, source, catalogue_with_lrs_courses(), now=NOW, client=client)
    assert str(caught.value).startswith(
        "xapi source 'pinelake-lrs': GET http://127.0.0.1:9/xAPI/statements: cannot connect"
    )
    assert_nothing_stored(team_ledger)

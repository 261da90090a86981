"""peertrain notify against a real SMTP server on loopback (aiosmtpd, STARTTLS or implicit TLS,
AUTH, a certificate made here): exact recipients, subjects, bodies and attachments; each notice
once; faults reported with nothing marked sent that was not."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
from collections import Counter

import pytest
from icalendar import Calendar

from notify_server import add_completions, demo_ledger, make_certificate, start_server, write_config
from peertrain.calendars import Feed, FeedOptions, build_feed
from peertrain.cli import main
from peertrain.ledger import NoticeState, open_ledger
from peertrain.notify import load_config, plan_notices, resend, send_notices

AS_OF = dt.date(2026, 11, 15)


@pytest.fixture
def setup(tmp_path, new_location):
    """A STARTTLS + AUTH server, a config trusting its certificate, and the demo ledger (of each backend)."""
    cert = make_certificate(tmp_path)
    controller, recorder = start_server(tmp_path, cert=cert)
    config = load_config(write_config(tmp_path, controller.port, cert=cert[0]))
    ledger = open_ledger(demo_ledger(new_location("team.ledger")))
    yield config, ledger, recorder, tmp_path
    ledger.close()
    controller.stop()


def run(ledger, config, day):
    return send_notices(ledger, config, plan_notices(ledger, config, day))


def test_member_notice_has_exact_recipient_subject_body_and_the_feeds_uid(setup):
    """The 30-day reminder to PL-02: one recipient, the subject names the training and the date,
    text and HTML, and an .ics whose event has the UID of the same deadline in the team feed."""
    config, ledger, recorder, _ = setup
    report = run(ledger, config, AS_OF)
    assert report.clean
    assert recorder.logins == ["PLAIN"]
    found = [(m, r) for m, (_f, r, _d) in zip(recorder.messages(), recorder.accepted, strict=True)
             if m["Subject"].startswith("Reminder: Mental Health First Aid")]
    assert len(found) == 1
    message, rcpt = found[0]
    assert rcpt == ["marcus.reyes@pinelake.example"]
    assert message["To"] == "marcus.reyes@pinelake.example"
    assert message["Subject"] == (
        "Reminder: Mental Health First Aid - Public Safety, current lapses on 5 December 2026 (in 20 days)"
    )
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert text.startswith(
        "Hello Marcus Reyes,\n\nYour training \"Mental Health First Aid - Public Safety, current\" lapses on "
        "5 December 2026, in 20 days.\nComplete it by 4 December 2026 to stay in compliance.\n"
    )
    assert "support conversation" not in text.lower()
    html = message.get_body(("html",)).get_content()
    assert "<strong>5 December 2026</strong>" in html
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "deadline.ics"
    (event,) = Calendar.from_ical(attachment.get_content()).walk("VEVENT")
    assert event.decoded("dtstart") == dt.date(2026, 12, 5)
    feed = _demo_feed(ledger, config)
    uids = {str(e["uid"]): e.decoded("dtstart") for e in feed.walk("VEVENT")}
    assert uids[str(event["uid"])] == dt.date(2026, 12, 5)


def _demo_feed(ledger, config):
    from peertrain import check_compliance, load_bundled_catalogue, load_pack

    catalogue = load_bundled_catalogue()
    packs = [load_pack(p, catalogue) for p in config.packs]
    members, completions = ledger.members(), list(ledger.completions())
    result = check_compliance(members, completions, packs, AS_OF, catalogue=catalogue)
    return build_feed(Feed.parse("team"), catalogue=catalogue, result=result, members=members, packs=packs,
                      completions=completions, options=FeedOptions(), team_id=config.team_id)


def test_running_twice_a_day_sends_nothing_new(setup):
    """The second run on the same day finds every notice recorded."""
    config, ledger, recorder, _ = setup
    first = run(ledger, config, AS_OF)
    count = len(recorder.accepted)
    assert count == first.count(NoticeState.SENT) > 0
    assert plan_notices(ledger, config, AS_OF).notices == ()
    assert run(ledger, config, AS_OF).outcomes == ()
    assert len(recorder.accepted) == count


def test_consecutive_days_each_stage_once_skipped_day_caught_up_and_new_training_cancels(setup):
    """A daily run through 90 days: every (kind, member, deadline, stage, recipient) at most once,
    a skipped day caught up by the latest stage only, and new training stops the old deadline's
    later stages."""
    config, ledger, recorder, _ = setup
    day, end = AS_OF, AS_OF + dt.timedelta(days=90)
    while day <= end:
        if day == dt.date(2026, 11, 28):  # PL-02's 7-day stage for 5 December is due on this day, skipped
            day += dt.timedelta(days=1)
            continue
        if day == dt.date(2026, 12, 20):  # PL-09 trains: the 1 January deadline moves
            add_completions(ledger, [("PL-09", "icisf-gci", dt.date(2026, 12, 20))], "late")
        assert run(ledger, config, day).clean
        day += dt.timedelta(days=1)
    keys = [(row.draft.key) for row in ledger.notices()]
    assert len(keys) == len(set(keys))
    ids = Counter(m["Message-ID"] for m in recorder.messages())
    assert max(ids.values()) == 1
    subjects = [r.draft for r in ledger.notices() if r.draft.member == "PL-02" and r.draft.kind == "member"
                and r.draft.deadline == dt.date(2026, 12, 5)]
    assert [d.stage for d in subjects] == ["30", "7", "lapsed"]  # and lapsed on the day, once
    assert subjects[1].subject.endswith("(in 6 days)")  # caught up on the 29th, once
    told = [r.draft.recipient for r in ledger.notices() if r.draft.member == "PL-02" and r.draft.stage == "lapsed"
            and r.draft.deadline == dt.date(2026, 12, 5)]
    assert sorted(told) == [
        "chief@pinelake.example", "dana.whitfield@pinelake.example", "marcus.reyes@pinelake.example"
    ]
    pl09 = [r.draft.stage for r in ledger.notices() if r.draft.member == "PL-09" and r.draft.kind == "member"
            and r.draft.deadline == dt.date(2027, 1, 1)]
    assert pl09 == ["90", "30"]  # no 7-day stage: the deadline moved on 20 December


def test_a_5xx_for_one_recipient_does_not_stop_the_others(setup):
    """Refused for one address, sent for the others; the refusal is recorded and not retried."""
    config, ledger, recorder, _ = setup
    recorder.refuse.add("marcus.reyes@pinelake.example")
    report = run(ledger, config, AS_OF)
    refused = [o for o in report.outcomes if o.state is NoticeState.REFUSED]
    assert {o.draft.recipient for o in refused} == {"marcus.reyes@pinelake.example"}
    assert refused[0].detail.startswith("550 ")
    assert report.count(NoticeState.SENT) == len(recorder.accepted) == len(report.outcomes) - len(refused)
    assert "marcus.reyes@pinelake.example" not in {r for _f, rs, _d in recorder.accepted for r in rs}
    assert run(ledger, config, AS_OF).outcomes == ()


def test_421_is_retried_and_a_dropped_connection_resumes_without_doubling(setup):
    """A 421 and a cut connection before DATA are retried on a new connection: every message once."""
    config, ledger, recorder, _ = setup
    recorder.busy = 1
    recorder.drop_at = {4}
    report = run(ledger, config, AS_OF)
    assert report.clean
    ids = [m["Message-ID"] for m in recorder.messages()]
    assert len(ids) == len(set(ids)) == report.count(NoticeState.SENT)


def test_server_gone_mid_batch_reports_and_the_next_run_sends_the_rest(setup, tmp_path):
    """Every connection cut from the third message: the run stops with a report, marks nothing sent
    that the server did not accept, and the next run sends the rest once."""
    config, ledger, recorder, _ = setup
    recorder.drop_at = set(range(3, 100))
    report = run(ledger, config, AS_OF)
    assert report.stopped is not None
    assert not report.clean
    sent = {r.draft.message_id for r in ledger.notices([NoticeState.SENT])}
    assert sent == {m["Message-ID"] for m in recorder.messages()}
    assert len(sent) == 2
    recorder.drop_at = set()
    assert run(ledger, config, AS_OF).clean
    ids = [m["Message-ID"] for m in recorder.messages()]
    assert len(ids) == len(set(ids)) == len(ledger.notices([NoticeState.SENT]))


def test_a_certificate_not_trusted_stops_before_anything_is_recorded(tmp_path):
    """A server whose certificate the configuration does not trust: a clear report, nothing recorded."""
    cert = make_certificate(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    controller, recorder = start_server(tmp_path, cert=cert)
    try:
        config = load_config(write_config(tmp_path, controller.port, cert=make_certificate(other)[0]))
        with open_ledger(demo_ledger(tmp_path / "team.ledger")) as ledger:
            report = run(ledger, config, AS_OF)
            assert report.stopped is not None
            assert "certificate" in report.stopped
            assert ledger.notices() == []
            assert recorder.accepted == []
    finally:
        controller.stop()


def test_implicit_tls_and_cli_dry_run_log_and_resend(tmp_path, new_location, capsys):
    """Implicit TLS; --dry-run prints the table and writes .eml files; a notice left pending (a
    crash) is reported as unknown and sent again only by 'notify resend --unknown'."""
    cert = make_certificate(tmp_path)
    controller, recorder = start_server(tmp_path, implicit=True, cert=cert)
    try:
        path = write_config(tmp_path, controller.port, cert=cert[0], security="tls")
        ledger_path = demo_ledger(new_location("team.ledger"))
        outbox = tmp_path / "outbox"
        outbox.mkdir()
        base = ["notify", "--ledger", str(ledger_path), "--config", str(path), "--as-of", "2026-11-15"]
        assert main([*base, "--dry-run", "--outbox", str(outbox)]) == 0
        out = capsys.readouterr().out
        assert "Notices due as of 2026-11-15 (dry run: nothing sent, nothing recorded): 9" in out
        assert len(list(outbox.glob("*.eml"))) == 9
        assert recorder.accepted == []
        assert (outbox / "001-member-CC-02-60.eml").stat().st_mode & 0o777 == 0o600
        config = load_config(path)
        with open_ledger(ledger_path) as ledger:  # a crash after the attempt was recorded
            plan = plan_notices(ledger, config, AS_OF)
            draft, data = plan.messages[0]
            ledger.begin_notice(draft, data, dt.datetime.now(dt.UTC))
        assert main(base) == 1
        out = capsys.readouterr().out
        assert "Notices: 8 sent." in out
        assert "1 notice(s) of earlier runs have an unknown fate" in out
        assert len(recorder.accepted) == 8
        assert main(["notify", "log", "--ledger", str(ledger_path), "--config", str(path), "--unknown"]) == 0
        assert draft.subject in capsys.readouterr().out
        assert main(["notify", "resend", "--unknown", "--ledger", str(ledger_path), "--config", str(path)]) == 0
        assert "Notices: 1 resent." in capsys.readouterr().out
        assert recorder.messages()[-1]["Message-ID"] == draft.message_id  # the same message, as first sent
        with open_ledger(ledger_path) as ledger:
            assert ledger.notices([NoticeState.PENDING]) == []
            assert resend(ledger, config).outcomes == ()
    finally:
        controller.stop()


def test_a_refused_login_stops_the_run_with_one_line_and_records_nothing(tmp_path, capsys):
    """A wrong password: the server answers 535, the run stops before anything is recorded, with
    one line naming the server and its reply, and 'notify' exits 1 (nothing was attempted)."""
    cert = make_certificate(tmp_path)
    controller, recorder = start_server(tmp_path, cert=cert)
    try:
        path = write_config(tmp_path, controller.port, cert=cert[0])
        (tmp_path / "smtp-password").write_text("not-the-password\n")
        ledger_path = demo_ledger(tmp_path / "team.ledger")
        status = main(["notify", "--ledger", str(ledger_path), "--config", str(path), "--as-of", "2026-11-15"])
        assert status == 1
        out = capsys.readouterr().out
        assert "Notices: 0 sent, 9 not attempted (next run)." in out
        (stopped,) = [line for line in out.splitlines() if line.startswith("Stopped: ")]
        assert stopped.startswith(f"Stopped: mail server 127.0.0.1:{controller.port} refused the login: 535 ")
        assert "not-the-password" not in out
        assert recorder.accepted == []
        assert recorder.logins == []
        assert recorder.mails == 0
        with open_ledger(ledger_path) as ledger:
            assert ledger.notices() == []
    finally:
        controller.stop()


class SilentServer:
    """A plain TCP server on loopback that accepts connections and never says a word (no SMTP
    greeting); it holds them until :meth:`stop`."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.socket.settimeout(0.1)
        self.port = self.socket.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
            except TimeoutError:
                continue
            self.accepted.append(connection)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for connection in self.accepted:
            connection.close()
        self.socket.close()


def test_a_server_that_never_answers_ends_the_run_within_its_timeouts(tmp_path, capsys):
    """A server that accepts the connection and stays silent: each attempt gives up after the
    configured timeout (1 s), the run stops after its retries with a line saying the server did
    not answer, records nothing, and exits 1."""
    silent = SilentServer()
    try:
        path = write_config(tmp_path, silent.port, cert=None)
        path.write_text(path.read_text().replace("timeout = 5\n", "timeout = 1\n"))
        config = load_config(path)
        assert (config.smtp.timeout, config.smtp.retries) == (1, 2)
        ledger_path = demo_ledger(tmp_path / "team.ledger")
        started = time.monotonic()
        status = main(["notify", "--ledger", str(ledger_path), "--config", str(path), "--as-of", "2026-11-15"])
        took = time.monotonic() - started
        assert status == 1
        # (retries + 1) attempts of at most one timeout each, the backoffs, and room for a slow machine
        assert took < (config.smtp.retries + 1) * config.smtp.timeout + 0.03 + 10
        assert len(silent.accepted) == config.smtp.retries + 1
        out = capsys.readouterr().out
        assert "Notices: 0 sent, 9 not attempted (next run)." in out
        (stopped,) = [line for line in out.splitlines() if line.startswith("Stopped: ")]
        assert stopped == f"Stopped: mail server 127.0.0.1:{silent.port} did not answer within 1 s"
        with open_ledger(ledger_path) as ledger:
            assert ledger.notices() == []
    finally:
        silent.stop()


def test_the_rate_limit_spaces_the_messages(tmp_path):
    """``rate = 5``: nine messages take at least the 8 × 0.2 s the limit implies (a lower bound
    only, with a margin; a slow machine may take longer)."""
    cert = make_certificate(tmp_path)
    controller, recorder = start_server(tmp_path, cert=cert)
    try:
        path = write_config(tmp_path, controller.port, cert=cert[0])
        path.write_text(path.read_text().replace("rate = 1000\n", "rate = 5\n"))
        config = load_config(path)
        with open_ledger(demo_ledger(tmp_path / "team.ledger")) as ledger:
            plan = plan_notices(ledger, config, AS_OF)
            assert len(plan.messages) >= 6
            started = time.monotonic()
            report = send_notices(ledger, config, plan)
            took = time.monotonic() - started
        assert report.clean
        assert len(recorder.accepted) == len(plan.messages)
        assert took >= (len(plan.messages) - 1) / 5 * 0.9
    finally:
        controller.stop()

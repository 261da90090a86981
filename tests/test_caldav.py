"""Feeds stored on a real CalDAV server: Radicale (PyPI ``radicale``) on loopback.

Each feed is cut into calendar object resources as CalDAV (RFC 4791 §4.1) requires: one UID per
resource (a recurring master together with its overrides), with the VTIMEZONEs its events name.
Each resource is PUT into a calendar made with MKCALENDAR; the server must accept every one. Then
the server is asked for them back (a calendar-query REPORT) and for the occurrences in a time range
across the autumn and spring daylight-saving changes, expanded by the server (``<C:expand>``).

Radicale is run as ``PYTHON -m radicale``: ``PEERTRAIN_RADICALE_PYTHON`` names that Python (``.ci/run``
installs Radicale into a virtual environment of its own); else the Python running the tests, if it
can import radicale; else a ``radicale`` executable on ``PATH``. Without any, these tests skip
locally and fail when ``CI`` is set (CI must run them), as the ralph tests do.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import icalendar
import pytest
import recurring_ical_events
import requests

from local_servers import free_port, not_installed
from peertrain.cli import main
from peertrain.rules.loading import curricula_dir

DEMO = curricula_dir() / "demo"
USER, PASSWORD = "peertrain", "caldav-test-password"
AUTH = (USER, PASSWORD)
NS = {"D": "DAV:", "C": "urn:ietf:params:xml:ns:caldav"}

#: All-day sessions added to the demo's schedule (which has none): a single day, two days in a
#: row, and a monthly series across the autumn and spring DST changes with one cancelled date.
ALL_DAY_SESSIONS = """
[[sessions]]
id = "assist-allday-2027-01"
course = "asist"
title = "ASIST (all day)"
start = 2027-01-20
end = 2027-01-21
revision = 0
updated = 2026-10-01T12:00:00Z

[[sessions]]
id = "pfa-allday-2026-12"
course = "jh-pfa"
start = 2026-12-02
end = 2026-12-02
revision = 0
updated = 2026-10-01T12:00:00Z

[[sessions]]
id = "wellness-day"
course = "team-quarterly"
title = "Team wellness day"
start = 2026-10-07
end = 2026-10-07
rrule = "FREQ=MONTHLY;BYDAY=1WE"
count = 8
cancelled_dates = [2027-01-06]
revision = 2
updated = 2026-10-01T12:00:00Z
"""

#: A range that crosses the end of DST (1 November 2026) and its start (14 March 2027) in Chicago.
RANGE_START = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
RANGE_END = dt.datetime(2027, 4, 30, tzinfo=dt.UTC)


# -- the server -------------------------------------------------------------------------------


def radicale_command() -> list[str]:
    """How to start Radicale here, or skip (fail under CI) with the reason."""
    python = os.environ.get("PEERTRAIN_RADICALE_PYTHON")
    if python and os.access(python, os.X_OK):
        return [python, "-m", "radicale"]
    if importlib.util.find_spec("radicale") is not None:
        return [sys.executable, "-m", "radicale"]
    executable = shutil.which("radicale")
    if executable:
        return [executable]
    message = ("Radicale is not installed: set PEERTRAIN_RADICALE_PYTHON to a Python that has it "
               "(pip install 'radicale==3.*'), or put 'radicale' on PATH")
    return not_installed(message, "CalDAV")


class Radicale:
    """A running Radicale with its storage, users file and log in ``folder``."""

    def __init__(self, command: list[str], folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = folder / "radicale.log"
        users = folder / "users"
        users.write_text(f"{USER}:{PASSWORD}\n", encoding="utf-8")
        config = folder / "radicale.conf"
        config.write_text(
            "[server]\n"
            f"hosts = 127.0.0.1:{self.port}\n"
            "[auth]\n"
            "type = htpasswd\n"
            f"htpasswd_filename = {users}\n"
            "htpasswd_encryption = plain\n"
            "[storage]\n"
            f"filesystem_folder = {folder / 'collections'}\n"
            "[web]\n"
            "type = none\n"
            "[logging]\n"
            "level = info\n",
            encoding="utf-8",
        )
        with self.log_path.open("wb") as log:
            # Its own session, so that teardown stops it and anything it started together.
            self.process = subprocess.Popen(
                [*command, "--config", str(config)], cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"Radicale exited ({self.process.returncode}):\n{self.log()}")
            try:
                requests.request("OPTIONS", self.url + "/", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.2)
        self.stop()
        pytest.fail(f"Radicale did not answer within 60 s:\n{self.log()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    def request(self, method: str, path: str, body: str | bytes | None = None, **headers: str) -> requests.Response:
        data = body.encode("utf-8") if isinstance(body, str) else body
        return requests.request(method, self.url + path, data=data, headers=headers, auth=AUTH, timeout=30)


@pytest.fixture(scope="module")
def radicale(tmp_path_factory):
    server = Radicale(radicale_command(), tmp_path_factory.mktemp("radicale"))
    yield server
    server.stop()


# -- feeds cut into calendar object resources -------------------------------------------------


def demo_feed(folder: Path, feed: str) -> bytes:
    """A demo feed as ``peertrain calendar`` writes it: both demo packs, the demo's sessions plus
    the all-day ones, upcoming deadlines with reminder events, and the overdue / not-met items."""
    sessions = folder / "sessions.toml"
    sessions.write_text((DEMO / "sessions.toml").read_text(encoding="utf-8") + ALL_DAY_SESSIONS, encoding="utf-8")
    out = folder / f"{feed.replace(':', '-')}.ics"
    status = main(["calendar", "--demo", "--feed", feed, "--rules", "mn-181-9731", "example-agency",
                   "--sessions", str(sessions), "--reminder-events", "-o", str(out)])
    assert status == 0
    return out.read_bytes()


def _blocks(lines: list[str], name: str) -> list[list[str]]:
    """The top-level ``name`` components of a calendar's raw lines, each with its BEGIN and END."""
    found: list[list[str]] = []
    current: list[str] | None = None
    for line in lines:
        if line == f"BEGIN:{name}" and current is None:
            current = [line]
        elif current is not None:
            current.append(line)
            if line == f"END:{name}":
                found.append(current)
                current = None
    return found


def _unfolded(block: list[str]) -> list[str]:
    return "\r\n".join(block).replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")


def calendar_resources(data: bytes) -> dict[str, bytes]:
    """The feed as CalDAV calendar object resources, by UID: each holds every VEVENT with that UID
    (a recurring master and its overrides), the VTIMEZONEs those events name, and the calendar's
    VERSION, PRODID and CALSCALE. Lines are the feed's own, folded as the feed folds them."""
    text = data.decode("utf-8")
    assert text.endswith("\r\n")
    lines = text[:-2].split("\r\n")
    header = [line for line in lines[1:] if line.split(":", 1)[0] in ("VERSION", "PRODID", "CALSCALE")]
    timezones = {}
    for block in _blocks(lines, "VTIMEZONE"):
        tzid = next(x for x in _unfolded(block) if x.startswith("TZID:"))[5:]
        timezones[tzid] = block
    events: dict[str, list[list[str]]] = {}
    for block in _blocks(lines, "VEVENT"):
        uid = next(x for x in _unfolded(block) if x.startswith("UID:"))[4:]
        events.setdefault(uid, []).append(block)
    resources = {}
    for uid, blocks in events.items():
        used = sorted({tzid for block in blocks for line in _unfolded(block) for tzid in timezones
                       if f";TZID={tzid}:" in line or f";TZID={tzid};" in line})
        body = ["BEGIN:VCALENDAR", *header]
        for tzid in used:
            body += timezones[tzid]
        for block in blocks:
            body += block
        body.append("END:VCALENDAR")
        resources[uid] = ("\r\n".join(body) + "\r\n").encode("utf-8")
    return resources


# -- CalDAV requests --------------------------------------------------------------------------

MKCALENDAR = """<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:set><D:prop>
    <D:displayname>{name}</D:displayname>
    <C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>
  </D:prop></D:set>
</C:mkcalendar>"""

QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><D:getetag/><C:calendar-data>{expand}</C:calendar-data></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR">
    <C:comp-filter name="VEVENT">{range}</C:comp-filter>
  </C:comp-filter></C:filter>
</C:calendar-query>"""


def _utc(moment: dt.datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def calendar_query(server: Radicale, path: str, *, expand: bool = False) -> dict[str, icalendar.Calendar]:
    """REPORT calendar-query on the collection: each resource's href and parsed calendar-data; with
    ``expand``, only the occurrences in [RANGE_START, RANGE_END), expanded by the server."""
    span = f'start="{_utc(RANGE_START)}" end="{_utc(RANGE_END)}"'
    body = QUERY.format(expand=f"<C:expand {span}/>" if expand else "",
                        range=f"<C:time-range {span}/>" if expand else "")
    answer = server.request("REPORT", path, body, Depth="1", **{"Content-Type": "application/xml; charset=utf-8"})
    assert answer.status_code == 207, f"{answer.status_code} {answer.text[:500]}\n{server.log()}"
    found = {}
    for response in ET.fromstring(answer.content).findall("D:response", NS):
        href = response.findtext("D:href", namespaces=NS)
        data = response.findtext("D:propstat/D:prop/C:calendar-data", namespaces=NS)
        assert href, ET.tostring(response)
        assert data, ET.tostring(response)
        found[href] = icalendar.Calendar.from_ical(data)
    return found


def put_feed(server: Radicale, collection: str, data: bytes) -> dict[str, bytes]:
    """MKCALENDAR ``collection`` and PUT every resource of the feed into it; each must be created."""
    answer = server.request("MKCALENDAR", collection, MKCALENDAR.format(name=collection.strip("/")),
                            **{"Content-Type": "application/xml; charset=utf-8"})
    assert answer.status_code == 201, f"MKCALENDAR: {answer.status_code} {answer.text[:500]}\n{server.log()}"
    resources = calendar_resources(data)
    refused = {}
    for uid, body in resources.items():
        answer = server.request("PUT", f"{collection}{uid}.ics", body,
                                **{"Content-Type": "text/calendar; charset=utf-8", "If-None-Match": "*"})
        if answer.status_code not in (201, 204):
            refused[uid] = f"{answer.status_code} {answer.text[:300]}"
    assert not refused, f"{refused}\n{server.log()}"
    return resources


def occurrences(calendar: icalendar.Calendar) -> list[tuple[str, object]]:
    """(UID, start) of each VEVENT; timed starts in UTC."""
    found = []
    for event in calendar.walk("VEVENT"):
        start = event.decoded("DTSTART")
        if isinstance(start, dt.datetime):
            start = start.astimezone(dt.UTC)
        found.append((str(event["UID"]), start))
    return found


# -- the tests --------------------------------------------------------------------------------


@pytest.mark.parametrize("feed", ["team", "member:PL-03"])
def test_feed_stored_on_caldav_server_and_read_back(radicale, tmp_path, feed):
    """Every resource of the feed is accepted; a calendar-query returns each one with the same UID
    and the same events, and the server's own expansion of the occurrences between October 2026 and
    April 2027 (across both DST changes) is what recurring-ical-events computes from the feed."""
    data = demo_feed(tmp_path, feed)
    collection = f"/{USER}/{feed.replace(':', '-')}/"
    resources = put_feed(radicale, collection, data)

    stored = calendar_query(radicale, collection)
    assert sorted(href.rsplit("/", 1)[1] for href in stored) == sorted(f"{uid}.ics" for uid in resources)
    for href, calendar in stored.items():
        uid = href.rsplit("/", 1)[1].removesuffix(".ics")
        sent = icalendar.Calendar.from_ical(resources[uid])
        assert {str(e["UID"]) for e in calendar.walk("VEVENT")} == {uid}
        assert sorted(map(str, occurrences(calendar))) == sorted(map(str, occurrences(sent)))

    expected = Counter(
        (str(e["UID"]), e.decoded("DTSTART").astimezone(dt.UTC) if isinstance(e.decoded("DTSTART"), dt.datetime)
         else e.decoded("DTSTART"))
        for e in recurring_ical_events.of(icalendar.Calendar.from_ical(data)).between(RANGE_START, RANGE_END)
    )
    expanded = calendar_query(radicale, collection, expand=True)
    found = Counter(o for calendar in expanded.values() for o in occurrences(calendar))
    assert found == expected
    assert len(found) > 10


def test_recurring_sessions_expanded_by_the_server_across_dst(radicale, tmp_path):
    """The server expands the quarterly in-service to 09:00 Central on each second Tuesday in the
    range: 14:00 UTC in October (CDT), 15:00 UTC in January (CST), 14:00 UTC in April (CDT, the
    cancelled one, STATUS:CANCELLED); the all-day wellness day stays on its dates, the January one
    cancelled; the overdue and not-met items are on the as-of date."""
    data = demo_feed(tmp_path, "team")
    collection = f"/{USER}/team-dst/"
    put_feed(radicale, collection, data)
    expanded = calendar_query(radicale, collection, expand=True)
    events = [e for calendar in expanded.values() for e in calendar.walk("VEVENT")]

    def starts(summary: str) -> list[tuple[object, str]]:
        found = [(e.decoded("DTSTART"), str(e.get("STATUS", ""))) for e in events if summary in str(e["SUMMARY"])]
        return sorted(((s.astimezone(dt.UTC) if isinstance(s, dt.datetime) else s), status) for s, status in found)

    assert starts("quarterly in-service") == [
        (dt.datetime(2026, 10, 13, 14, tzinfo=dt.UTC), "CONFIRMED"),
        (dt.datetime(2027, 1, 12, 15, tzinfo=dt.UTC), "CONFIRMED"),
        (dt.datetime(2027, 4, 13, 14, tzinfo=dt.UTC), "CANCELLED"),
    ]
    assert starts("wellness day") == [
        (dt.date(2026, 10, 7), "CONFIRMED"), (dt.date(2026, 11, 4), "CONFIRMED"),
        (dt.date(2026, 12, 2), "CONFIRMED"), (dt.date(2027, 1, 6), "CANCELLED"),
        (dt.date(2027, 2, 3), "CONFIRMED"), (dt.date(2027, 3, 3), "CONFIRMED"),
        (dt.date(2027, 4, 7), "CONFIRMED"),
    ]
    (asist,) = [e for e in events if str(e["SUMMARY"]) == "ASIST (all day)"]
    assert (asist.decoded("DTSTART"), asist.decoded("DTEND")) == (dt.date(2027, 1, 20), dt.date(2027, 1, 22))
    overdue = [e for e in events if str(e["SUMMARY"]).startswith(("Overdue: ", "Not met: "))]
    assert len(overdue) == 5
    assert {e.decoded("DTSTART") for e in overdue} == {dt.date(2026, 11, 15)}

"""Pulling course completions from Moodle web services, against a loopback server that answers
with the documented shapes (a Moodle site cannot run here), including errors sent as HTTP 200."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from peertrain.pull import AuthError, MoodleSource, PullError, RetryPolicy, Secret, pull_moodle
from pull_fixtures import catalogue_with_lrs_courses, team_ledger
from pull_server import LocalServer, Reply, Request

__all__ = ["team_ledger"]  # a fixture

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
TOKEN = "0123456789abcdef-moodle-token"
# 2025-03-05 02:30 UTC is 2025-03-04 in Chicago
T1, T2, T3 = (int(dt.datetime(2025, 3, 5, 2, 30, tzinfo=dt.UTC).timestamp()), 1_740_000_000, 1_741_000_000)


def criteria(*times, aggregation=1, completed=True):
    return {"completionstatus": {"completed": completed, "aggregation": aggregation, "completions": [
        {"type": 4, "title": f"Activity {i}", "status": "Yes" if t else "No", "complete": t is not None,
         "timecompleted": t, "details": {}} for i, t in enumerate(times)
    ]}, "warnings": []}


class MoodleSite:
    """Two courses, their learners and completion statuses; Moodle's REST answers."""

    def __init__(self) -> None:
        self.courses = {
            101: {"id": 101, "shortname": "GCI-2025", "fullname": "Group Crisis Intervention", "idnumber": ""},
            102: {"id": 102, "shortname": "WELL-1", "fullname": "Wellness", "idnumber": "pinelake-wellness"},
            103: {"id": 103, "shortname": "FIRE-1", "fullname": "Firearms Qualification", "idnumber": ""},
        }
        self.users = {
            101: [
                {"id": 5, "username": "dwhitfield", "fullname": "Dana Whitfield",
                 "email": "Dana.Whitfield@pinelake.example"},
                {"id": 10244, "username": "mreyes", "fullname": "Marcus Reyes", "email": "marcus@home.example"},
                {"id": 7, "username": "jpike", "fullname": "Jordan Pike", "email": "jordan.pike@riverbend.example"},
                {"id": 8, "username": "elindqvist", "fullname": "Erin Lindqvist",
                 "email": "erin.lindqvist@pinelake.example"},
                {"id": 9, "username": "tbaker", "fullname": "Tom Baker", "email": "tom.baker@pinelake.example"},
            ],
            102: [{"id": 5, "username": "dwhitfield", "fullname": "Dana Whitfield",
                   "email": "dana.whitfield@pinelake.example"}],
            103: [{"id": 5, "username": "dwhitfield", "fullname": "Dana Whitfield",
                   "email": "dana.whitfield@pinelake.example"}],
        }
        self.status = {
            (101, 5): criteria(T1 - 3600, T1),                      # all criteria: the latest time
            (101, 10244): criteria(T2, T2 + 86400 * 3, aggregation=2),  # any criterion: the earliest
            (101, 7): criteria(T2),                                 # unknown learner: held
            (101, 8): criteria(T2, None, completed=False),          # not completed: not stored
            (101, 9): criteria(None, completed=True),               # completed without a time: rejected
            (102, 5): criteria(T3),
            (103, 5): criteria(T3),                                 # course not in the catalogue: held
        }
        self.token = TOKEN

    def __call__(self, request: Request) -> Reply:
        form = request.form
        assert request.path == "/webservice/rest/server.php"
        assert request.method == "POST"
        assert form["moodlewsrestformat"] == "json"
        if form.get("wstoken") != self.token:
            return Reply(json={"exception": "moodle_exception", "errorcode": "invalidtoken",
                               "message": "Invalid token - token not found"})
        function = form["wsfunction"]
        if function == "core_course_get_courses_by_field":
            found = [c for c in self.courses.values() if str(c[form["field"]]) == form["value"]]
            return Reply(json={"courses": found, "warnings": []})
        if function == "core_enrol_get_enrolled_users":
            return Reply(json=self.users[int(form["courseid"])])
        if function == "core_completion_get_course_completion_status":
            return Reply(json=self.status[int(form["courseid"]), int(form["userid"])])
        return Reply(json={"exception": "webservice_access_exception", "errorcode": "accessexception",
                           "message": "Access control exception"})


def moodle_source(url, courses=("GCI-2025", 102, "FIRE-1")) -> MoodleSource:
    return MoodleSource(
        name="cops-portal", url=url + "/", token=Secret("env:PEERTRAIN_TEST_MOODLE_TOKEN"), courses=tuple(courses),
        policy=RetryPolicy(connect_timeout=2, read_timeout=2, attempts=2, backoff=0.01),
    )


@pytest.fixture
def ledger(team_ledger, monkeypatch):
    """The demo team's ledger (shared with the xAPI tests), with the Moodle token in the environment."""
    monkeypatch.setenv("PEERTRAIN_TEST_MOODLE_TOKEN", TOKEN)
    return team_ledger


def test_completions_are_pulled_and_mapped_exactly(ledger):
    """Learners match by email or Moodle user id (portal user id); courses by idnumber, short name
    or full name; the completion date is the criteria's time in Chicago; not-completed learners are
    not stored, unknown ones are held, a completion without a time is rejected."""
    site = MoodleSite()
    with LocalServer(site) as server:
        result = pull_moodle(ledger, moodle_source(server.url), catalogue_with_lrs_courses(), now=NOW)
    assert sorted((r.id, r.record_id, r.origin) for r, _ in ledger.records()) == [
        ("PL-01/icisf-gci/2025-03-04", "101/5", "moodle:cops-portal course 101 user 5"),
        ("PL-01/pinelake-wellness/2025-03-03", "102/5", "moodle:cops-portal course 102 user 5"),
        ("PL-02/icisf-gci/2025-02-19", "101/10244", "moodle:cops-portal course 101 user 10244"),
    ]
    assert [(h.origin, h.reason) for h in ledger.held()] == [
        ("moodle:cops-portal course 101 user 7:3", "unknown person 'jordan.pike@riverbend.example'"),
        ("moodle:cops-portal course 103 user 5:7", "unknown course 'Firearms Qualification'"),
    ]
    assert [(row.field, row.reason) for _, row in ledger.rejected()] == [
        ("timecompleted", "completed, but no criterion has a completion time")
    ]
    c = result.batch.counts
    assert (c.rows_read, c.imported, c.duplicates, c.rejected, c.unmatched) == (6, 3, 0, 1, 2)
    assert (result.fetched, result.skipped, result.requests) == (7, 1, 13)
    assert ledger.cursor("moodle:cops-portal") == f'{{"101": {T1}, "102": {T3}, "103": {T3}}}'


def test_a_second_pull_imports_only_new_completions(ledger):
    """Pulled completions are skipped; a new one (even with a time before the cursor, as Moodle's
    cron may backdate) is imported; with nothing new, no batch is stored."""
    site = MoodleSite()
    catalogue = catalogue_with_lrs_courses()
    with LocalServer(site) as server:
        pull_moodle(ledger, moodle_source(server.url), catalogue, now=NOW)
        again = pull_moodle(ledger, moodle_source(server.url), catalogue, now=NOW)
        site.status[101, 8] = criteria(T2 - 86400, T2 - 3600)
        third = pull_moodle(ledger, moodle_source(server.url), catalogue, now=NOW)
    assert again.batch is None
    assert (again.fetched, again.skipped) == (7, 7)
    assert (third.batch.counts.rows_read, third.batch.counts.imported) == (1, 1)
    assert "PL-03/icisf-gci/2025-02-19" in {r.id for r, _ in ledger.records()}


def test_moodle_errors_sent_as_http_200_become_clear_errors(ledger, caplog):
    """An invalid token is an AuthError naming Moodle's code and message, without the token."""
    caplog.set_level(logging.DEBUG)
    site = MoodleSite()
    site.token = "another"
    with LocalServer(site) as server, pytest.raises(AuthError) as caught:
        pull_moodle(ledger, moodle_source(server.url), catalogue_with_lrs_courses(), now=NOW)
    assert str(caught.value) == (
        "moodle source 'cops-portal': Moodle refused core_course_get_courses_by_field: invalidtoken: "
        "Invalid token - token not found; check the token and that it may call this function"
    )
    assert len(server.log) == 1
    assert TOKEN not in caplog.text + str(caught.value)
    assert all("wstoken" not in r.query for r in server.log)  # the token travels in the body only
    assert ledger.batches() == []


def test_an_unknown_course_and_a_non_auth_exception_are_reported(ledger):
    """A course the site does not have stops the pull; other exceptions quote Moodle's message."""
    site = MoodleSite()
    with LocalServer(site) as server, pytest.raises(PullError, match="Moodle has no course with shortname 'NOPE'"):
        pull_moodle(ledger, moodle_source(server.url, courses=["GCI-2025", "NOPE"]), catalogue_with_lrs_courses())
    assert ledger.batches() == []

    def no_criteria(request):
        if request.form["wsfunction"] == "core_completion_get_course_completion_status":
            return Reply(json={"exception": "moodle_exception", "errorcode": "nocriteriaset",
                               "message": "No completion criteria set for this course"})
        return site(request)

    with LocalServer(no_criteria) as server, pytest.raises(
        PullError, match="refused core_completion_get_course_completion_status: nocriteriaset: No completion"
    ):
        pull_moodle(ledger, moodle_source(server.url, courses=[101]), catalogue_with_lrs_courses())
    assert ledger.batches() == []

"""Pulling course completions from a Moodle site through its web services (REST, JSON).

Every call is ``POST {url}/webservice/rest/server.php`` with the token in the form body (so it
never appears in a URL or an access log), ``moodlewsrestformat=json`` and these functions:

- ``core_course_get_courses_by_field`` (``field=id`` or ``shortname``): each course the source
  names, with its ``idnumber``, ``shortname`` and ``fullname``, matched in that order to a
  catalogue course (by id, title or alias);
- ``core_enrol_get_enrolled_users`` (``courseid``): its learners (``id``, ``username``,
  ``idnumber``, ``email``, ``fullname``), matched to members by email, then by the field the
  source's ``user_id`` names against the roster's portal user id;
- ``core_completion_get_course_completion_status`` (``courseid``, ``userid``): whether the
  learner completed the course. The answer gives each completion criterion's ``timecompleted``
  but not the course's own completion time: peertrain takes the latest criterion time when every
  criterion is required (``aggregation`` 1) and the earliest completed one when any will do (2).

Moodle reports errors as HTTP 200 with ``{"exception", "errorcode", "message"}``: they become a
:class:`~peertrain.pull.http.PullError` (``invalidtoken`` and access errors an
:class:`~peertrain.pull.http.AuthError`). Moodle has no "completed since" filter, so every
learner's status is fetched on every pull. A completion is new when the ledger does not hold it
yet (its record id, ``<course id>/<user id>``, among this source's records and held rows). The
cursor (per course, the latest completion time pulled, as JSON) is kept and reported but does
not filter: Moodle's cron may mark a course complete later with an earlier, criterion-derived
time, and filtering on time would lose that completion for good. Learners who have not
completed are not stored.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from collections.abc import Callable
from typing import Any

from peertrain.imports.exports.values import clean_email
from peertrain.ledger import Ledger, Record, RejectedRow
from peertrain.pull.http import AuthError, HttpClient, PullError
from peertrain.pull.sources import MoodleSource
from peertrain.pull.sync import Collected, PullResult, Roster, Who, find_course, held_row, store
from peertrain.rules.catalog import Catalogue
from peertrain.rules.model import Course

__all__ = ["MoodleClient", "pull_moodle"]

_AUTH_ERRORS = {"invalidtoken", "accessexception", "webservicesnotenabled", "servicenotavailable", "forbidden"}


class MoodleClient:
    """Calls Moodle web-service functions; Moodle's error bodies become peertrain errors."""

    def __init__(self, source: MoodleSource, http: HttpClient | None = None) -> None:
        self.source = source
        self._token = source.token.value()
        self.http = http or HttpClient(
            f"moodle source {source.name!r}", policy=source.policy, verify=source.verify_tls, secrets=[self._token],
            origin=source.url,
        )
        self.url = source.url.rstrip("/") + "/webservice/rest/server.php"
        self.calls = 0

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def call(self, function: str, **params: str | int) -> Any:
        """The JSON answer of one web-service function."""
        data = {"wstoken": self._token, "wsfunction": function, "moodlewsrestformat": "json"}
        data |= {key: str(value) for key, value in params.items()}
        self.calls += 1
        answer = self.http.post_json(self.url, data)
        if isinstance(answer, dict) and "exception" in answer:
            code = str(answer.get("errorcode") or answer.get("exception"))
            code = self.http.excerpt(code)
            message = self.http.excerpt(str(answer.get("message") or ""))
            error = AuthError if code in _AUTH_ERRORS else PullError
            hint = "; check the token and that it may call this function" if error is AuthError else ""
            raise error(f"{self.http.label}: Moodle refused {function}: {code}: {message}{hint}")
        return answer


def _completion_time(status: dict[str, Any]) -> int | None:
    times = [
        int(c["timecompleted"]) for c in status.get("completions") or []
        if isinstance(c, dict) and c.get("complete") and isinstance(c.get("timecompleted"), int)
    ]
    if not times:
        return None
    return min(times) if status.get("aggregation") == 2 else max(times)


def _course(client: MoodleClient, ref: str | int) -> dict[str, Any]:
    field = "id" if isinstance(ref, int) else "shortname"
    answer = client.call("core_course_get_courses_by_field", field=field, value=ref)
    courses = answer.get("courses") if isinstance(answer, dict) else None
    if not isinstance(courses, list) or not courses or not isinstance(courses[0], dict):
        raise PullError(f"{client.http.label}: Moodle has no course with {field} {ref!r} (or the token cannot see it)")
    return courses[0]


def _cursor(text: str | None) -> dict[str, int]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return {str(k): int(v) for k, v in value.items()} if isinstance(value, dict) else {}


def pull_moodle(
    ledger: Ledger, source: MoodleSource, catalogue: Catalogue, *, now: dt.datetime | None = None,
    progress: Callable[[int], None] | None = None, client: MoodleClient | None = None,
) -> PullResult:
    """Pull the course completions newer than the source's cursor into the ledger, as one batch."""
    since = ledger.cursor(source.key)
    done = _cursor(since)
    latest = dict(done)
    prefix = source.key + " "
    known = {r.record_id for r, _ in ledger.records() if r.origin.startswith(prefix)}
    known |= {h.values.get("record_id") for h in ledger.held() if h.source == source.key}
    known |= {row.file for _, row in ledger.rejected() if row.file.startswith(prefix)}  # rejected before
    roster, zone = Roster(ledger.members()), zoneinfo.ZoneInfo(ledger.timezone())
    collected = Collected(cursor=since)
    moodle = client or MoodleClient(source)
    try:
        for ref in source.courses:
            info = _course(moodle, ref)
            course_id = str(info.get("id"))
            names = [info.get(k) for k in ("idnumber", "shortname", "fullname")]
            course = find_course(catalogue, [n for n in names if isinstance(n, str)])
            users = moodle.call("core_enrol_get_enrolled_users", courseid=course_id)
            if not isinstance(users, list):
                raise PullError(f"{moodle.http.label}: core_enrol_get_enrolled_users did not answer a list of users")
            for user in users:
                row = _user_row(
                    moodle, user, source=source, course_id=course_id, info=info, course=course, roster=roster,
                    zone=zone, known=known, latest=latest, collected=collected,
                )
                if row is not None:
                    collected.rows.append(row)
                if progress is not None:
                    progress(collected.fetched)
    finally:
        if client is None:
            moodle.close()
    collected.requests = moodle.calls
    if latest != done:
        collected.cursor = json.dumps(latest, sort_keys=True)
    return store(
        ledger, source=source.key, profile="moodle", collected=collected, cursor_before=since,
        file_name=f"{source.key} ({len(source.courses)} course(s))",
        when=now or dt.datetime.now(dt.UTC),
    )


def _user_row(
    moodle: MoodleClient, user: Any, *, source: MoodleSource, course_id: str, info: dict[str, Any],
    course: Course | None, roster: Roster, zone: zoneinfo.ZoneInfo, known: set[str | None], latest: dict[str, int],
    collected: Collected,
) -> Record | RejectedRow | Any | None:
    if not isinstance(user, dict) or not isinstance(user.get("id"), int):
        raise PullError(f"{moodle.http.label}: core_enrol_get_enrolled_users sent a user without an id")
    collected.fetched += 1
    user_id = user["id"]
    answer = moodle.call("core_completion_get_course_completion_status", courseid=course_id, userid=user_id)
    status = answer.get("completionstatus") if isinstance(answer, dict) else None
    if not isinstance(status, dict):
        raise PullError(f"{moodle.http.label}: core_completion_get_course_completion_status has no completionstatus")
    file, number = f"{source.key} course {course_id} user {user_id}", collected.fetched
    if not status.get("completed"):
        collected.skipped += 1
        return None
    when = _completion_time(status)
    if when is None:
        if file in known:
            collected.skipped += 1  # rejected by an earlier pull, and still the same
            return None
        return RejectedRow(file, number, "timecompleted", "completed, but no criterion has a completion time",
                           (moodle.http.redact(json.dumps(status, sort_keys=True))[:2000],))
    latest[course_id] = max(latest.get(course_id, when), when)
    record_id = f"{course_id}/{user_id}"
    if record_id in known:
        collected.skipped += 1  # pulled before
        return None
    on = dt.datetime.fromtimestamp(when, dt.UTC).astimezone(zone).date()
    portal = user.get(source.user_id)
    who = Who(
        email=clean_email(user.get("email")) if isinstance(user.get("email"), str) else None,
        portal_user_id=str(portal).strip() if portal not in (None, "") else None,
        name=user.get("fullname") if isinstance(user.get("fullname"), str) else None,
    )
    member = roster.match(who)
    if member is not None and course is not None:
        return Record(member=member, course=course.id, on=on, status="completed", hours=None, delivery=None,
                      provider=None, record_id=record_id, origin=file)
    title = info.get("fullname") if isinstance(info.get("fullname"), str) else None
    ref = info.get("idnumber") or info.get("shortname")
    return held_row(file=file, row=number, who=who, member=member, course_id=str(ref) if ref else None,
                    course_title=title, course=course, status="completed", on=on, hours=None, record_id=record_id)

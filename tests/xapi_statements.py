"""xAPI statements for the pull tests: the Pine Lake demo team's learning record store.

``FIRST`` is loaded before the first pull, ``SECOND`` before the second. Each statement's fate
is in ``EXPECTED`` / the tests. Timestamps are UTC; the ledger's zone is America/Chicago.
"""

from __future__ import annotations

import hashlib

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
PASSED = "http://adlnet.gov/expapi/verbs/passed"
FAILED = "http://adlnet.gov/expapi/verbs/failed"
EXPERIENCED = "http://adlnet.gov/expapi/verbs/experienced"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"
WELLNESS = "https://lrs.pinelake.example/activities/wellness-seminar"
HOURS = "https://peertrain.example/xapi/extensions/contact-hours"


def _id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def statement(n, verb, actor, activity, *, name=None, timestamp=None, extensions=None):
    """A statement with id ``_id(n)``."""
    obj = {"objectType": "Activity", "id": activity}
    if name:
        obj["definition"] = {"name": {"de-DE": "Kurs", "en-US": name}}
    result = {"id": _id(n), "actor": actor, "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[1]}},
              "object": obj}
    if timestamp:
        result["timestamp"] = timestamp
    if extensions:
        result["result"] = {"completion": True, "extensions": extensions}
    return result


def mbox(email):
    return {"objectType": "Agent", "mbox": f"mailto:{email}"}


DANA, MARCUS, ERIN, TOM = (
    mbox("dana.whitfield@pinelake.example"),
    {"objectType": "Agent", "account": {"homePage": "https://portal.example", "name": "10244"}},
    mbox("Erin.Lindqvist@pinelake.example"),
    mbox("tom.baker@pinelake.example"),
)

FIRST = [
    # completed, learner by mbox, course by activity IRI (a local catalogue alias);
    # 02:30 UTC is the day before in Chicago
    statement(1, COMPLETED, DANA, WELLNESS, timestamp="2025-03-05T02:30:00Z"),
    # passed, learner by account (portal user id), course by activity name, hours in an extension
    statement(2, PASSED, MARCUS, "https://other-lms.example/act/gci-2025", name="Group Crisis Intervention",
              timestamp="2025-02-10T15:00:00-05:00", extensions={HOURS: 13.5}),
    # failed: recorded without credit
    statement(3, FAILED, ERIN, WELLNESS, timestamp="2025-04-01T12:00:00Z"),
    # unknown learner: held
    statement(4, COMPLETED, mbox("jordan.pike@riverbend.example"), WELLNESS, timestamp="2025-04-02T12:00:00Z"),
    # unknown activity: held
    statement(5, COMPLETED, DANA, "https://lrs.pinelake.example/activities/firearms", name="Firearms Qualification",
              timestamp="2025-04-03T12:00:00Z"),
    # the wellness IRI in another case: IRIs match exactly, so it is held
    statement(6, COMPLETED, TOM, "https://LRS.pinelake.example/activities/wellness-seminar",
              timestamp="2025-04-04T12:00:00Z"),
    # another verb: skipped
    statement(7, EXPERIENCED, TOM, WELLNESS, timestamp="2025-04-05T12:00:00Z"),
    # completed QPR (by name): voided in the second load
    statement(8, COMPLETED, TOM, "https://lrs.pinelake.example/activities/qpr", name="QPR",
              timestamp="2025-04-06T12:00:00Z"),
]



def second(timestamps: bool = True):
    """The second load: a voiding statement and a completion by ``mbox_sha1sum``.

    ``timestamps=False`` leaves them out (the LRS sets them to the stored time): ralph 5.1's file
    backend filters ``since`` on ``timestamp``, so statements stored later must also be timed later.
    """
    sha1 = {"objectType": "Agent", "mbox_sha1sum": hashlib.sha1(
        b"mailto:erin.lindqvist@pinelake.example", usedforsecurity=False).hexdigest()}
    void = {"id": _id(9), "actor": DANA, "verb": {"id": VOIDED},
            "object": {"objectType": "StatementRef", "id": _id(8)}}
    asist = statement(10, COMPLETED, sha1, "https://lrs.pinelake.example/activities/asist", name="ASIST",
                      timestamp="2025-05-01T18:00:00Z" if timestamps else None)
    if timestamps:
        void["timestamp"] = "2025-05-01T19:00:00Z"
    return [void, asist]

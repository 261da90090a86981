"""Which notices are due on a date: the pure part of ``peertrain notify`` (no mail, no clock).

Every deadline is the one a calendar feed shows for a verdict (:func:`peertrain.calendars._deadline_events._deadline`:
"lapses" or "due" ahead, "lapsed" or "overdue" behind), so a notice and its feed event agree.

- **Member**, before a deadline: the *latest* stage due, one per deadline (the offset of the agency,
  e.g. 90, 30 and 7 days): a run on each day sends each stage once, a day missed is caught up by
  the latest stage only, and a stage is never sent after a later one of the same deadline.
  After a lapse (or a never-met requirement's due date): a ``lapsed`` notice, within
  ``catch_up_days`` of the day.
- **Copy** of a member's notice to the agency's coordinators in the last ``copy_within`` days and
  on a lapse (a message of its own to each, so that one refusal does not touch the others).
- **Escalation** to the agency's ``escalation`` addresses when a requirement lapses.
- **Digest** to each coordinator, once a week (``digest_day``): who is due soon, lapsed, not met or
  in grace in their agency.

A notice is identified by its key (kind, member or agency, requirement, verb, deadline day, stage,
recipient); a deadline that moves (new training) is a new deadline, and the stages of the old one
are no longer due because no verdict shows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from attrs import frozen

from peertrain.calendars._deadline_events import _deadline, _subject
from peertrain.ledger import NoticeState
from peertrain.notify.config import NotifyConfig, last_weekday
from peertrain.rules.compliance import ComplianceResult
from peertrain.rules.model import Member
from peertrain.rules.verdict import Status, Verdict

__all__ = ["DIGEST_STATUSES", "Notice", "due_notices"]

#: The statuses a digest lists, in this order.
DIGEST_STATUSES = (Status.LAPSED, Status.NOT_MET, Status.DUE_SOON, Status.GRACE)
LAPSED_STAGE = "lapsed"


@frozen
class Notice:
    """One message to one recipient.

    ``kind`` is ``member``, ``copy``, ``escalation`` or ``digest``; ``stage`` the offset in days
    (``"30"``), ``lapsed`` or ``digest``; ``deadline`` the deadline's day (a digest: the day of its
    week); ``verb`` the deadline's verb (``lapses``, ``due``, ``lapsed``, ``overdue``; ``digest``).
    A digest has no member nor verdict and carries its ``rows``.
    """

    kind: str
    agency: str
    recipient: str
    stage: str
    verb: str
    deadline: dt.date
    as_of: dt.date
    member: Member | None = None
    verdict: Verdict | None = None
    rows: tuple[tuple[Member, Verdict], ...] = ()

    @property
    def requirement(self) -> str:
        """``pack/requirement`` (empty for a digest)."""
        return self.verdict.key if self.verdict else ""

    @property
    def title(self) -> str:
        """What the deadline is about (the part of a compound requirement that lapses, if one)."""
        return _subject(self.verdict, self.verb) if self.verdict else ""

    @property
    def days(self) -> int:
        """Days from the as-of date to the deadline (negative once past)."""
        return (self.deadline - self.as_of).days

    @property
    def deadline_key(self) -> str:
        """The notice's key without its stage and recipient: the deadline it is about."""
        who = self.member.id if self.member else self.agency
        return "|".join((self.kind, who, self.requirement, self.verb, self.deadline.isoformat()))

    @property
    def key(self) -> str:
        """What identifies the notice in the ledger: it is sent at most once."""
        return f"{self.deadline_key}|{self.stage}|{self.recipient}"


def _stage(verb: str, day: dt.date, as_of: dt.date, offsets: Sequence[int], catch_up: int) -> str | None:
    if verb in ("lapsed", "overdue"):
        return LAPSED_STAGE if 0 <= (as_of - day).days <= catch_up else None
    left = (day - as_of).days
    due = [o for o in offsets if 0 < left <= o]
    return str(min(due)) if due else None


def _later(stage: str, other: str) -> bool:
    """Whether ``other`` comes after ``stage`` for the same deadline (a smaller offset)."""
    return other != stage and other.isdigit() and stage.isdigit() and int(other) < int(stage)


def due_notices(
    result: ComplianceResult,
    members: Iterable[Member],
    config: NotifyConfig,
    recorded: Mapping[str, NoticeState],
) -> tuple[list[Notice], list[str]]:
    """The notices due as of ``result.as_of`` that ``recorded`` (the ledger's notice states) does not
    rule out, and warnings (a member with no e-mail address). A ``deferred`` notice is due again."""
    as_of = result.as_of
    by_id = {m.id: m for m in members}
    done: dict[str, set[str]] = {}
    for key, recorded_state in recorded.items():
        deadline_key, recorded_stage, _recipient = key.rsplit("|", 2)
        if recorded_state is not NoticeState.DEFERRED:
            done.setdefault(deadline_key, set()).add(recorded_stage)
    notices: list[Notice] = []
    warnings: list[str] = []
    digests: dict[str, list[tuple[Member, Verdict]]] = {}
    for verdict in result.verdicts:
        member = by_id.get(verdict.member)
        if member is None:
            continue
        agency = config.agency(member.agency)
        if verdict.status in DIGEST_STATUSES:
            digests.setdefault(member.agency, []).append((member, verdict))
        deadline = _deadline(verdict)
        if deadline is None:
            continue
        verb, day = deadline
        stage = _stage(verb, day, as_of, agency.offsets, config.catch_up_days)
        if stage is None:
            continue
        recipients: list[tuple[str, str]] = []
        if member.email:
            recipients.append(("member", member.email))
        else:
            warnings.append(f"member {member.id} has no e-mail address: their notices go to no one")
        copy = stage == LAPSED_STAGE or (agency.copy_within is not None and int(stage) <= agency.copy_within)
        if copy:
            recipients += [("copy", a) for a in agency.coordinators if a != member.email]
        if stage == LAPSED_STAGE:
            recipients += [("escalation", a) for a in agency.escalation]
        for kind, address in recipients:
            notice = Notice(kind, member.agency, address, stage, verb, day, as_of, member, verdict)
            state = recorded.get(notice.key)
            if state is not None and state is not NoticeState.DEFERRED:
                continue
            if any(_later(stage, other) for other in done.get(notice.deadline_key, ())):
                continue
            notices.append(notice)
    for agency_name, rows in digests.items():
        agency = config.agency(agency_name)
        week = last_weekday(as_of, config.digest_day)
        order = {s: i for i, s in enumerate(DIGEST_STATUSES)}
        ordered = tuple(sorted(rows, key=lambda r: (order[r[1].status], r[1].due_on or dt.date.max, r[0].id)))
        for address in agency.coordinators:
            notice = Notice("digest", agency_name, address, "digest", "digest", week, as_of, rows=ordered)
            if recorded.get(notice.key) in (None, NoticeState.DEFERRED):
                notices.append(notice)
    return notices, sorted(set(warnings))

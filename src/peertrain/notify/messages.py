"""The messages of ``peertrain notify``: plain text and HTML from Jinja2 templates, and an ``.ics``
attachment whose event is the feeds' own deadline event (the same UID, made by
:func:`peertrain.calendars.deadline_events`), so that a calendar merges the two.

Templates (``templates/`` in this package) are ``<kind>.subject.txt``, ``<kind>.txt`` and
``<kind>.html`` for ``member`` (copies to coordinators use it too, with ``copy`` set),
``escalation`` and ``digest``. A folder named by the configuration's ``templates`` key overrides
any of them by file name. HTML is autoescaped; undefined variables are errors.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import uuid
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any

import jinja2
from icalendar import Calendar

from peertrain.calendars import FeedOptions, deadline_events, person_label
from peertrain.calendars._deadline_events import _requirement_courses
from peertrain.calendars._ical_props import NAMESPACE
from peertrain.ledger import NoticeDraft
from peertrain.notify.config import NotifyConfig
from peertrain.notify.plan import Notice
from peertrain.rules.catalog import Catalogue
from peertrain.rules.compliance import ComplianceResult
from peertrain.rules.model import Course, Member
from peertrain.rules.requirements import Requirement, RulePack

__all__ = ["Composer", "long_date"]

PRODID = "-//peertrain//peertrain notify//EN"
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")


def long_date(day: dt.date) -> str:
    """``31 January 2027``, the same in every locale."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _environment(config: NotifyConfig) -> jinja2.Environment:
    loaders: list[jinja2.BaseLoader] = []
    if config.templates is not None:
        loaders.append(jinja2.FileSystemLoader(config.templates))
    loaders.append(jinja2.PackageLoader("peertrain.notify", "templates"))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["long_date"] = long_date
    return env


class Composer:
    """Makes the message of each notice from a compliance result, its roster and packs."""

    def __init__(
        self,
        config: NotifyConfig,
        result: ComplianceResult,
        packs: Sequence[RulePack],
        catalogue: Catalogue,
        stamps: Mapping[str, dt.date],
    ) -> None:
        if config.smtp is None:
            self.sender = "peertrain@localhost"
        else:
            self.sender = config.smtp.sender
        self._config = config
        self._as_of = result.as_of
        self._packs = packs
        self._catalogue = catalogue
        self._stamps = stamps
        self._requirements: dict[str, Requirement] = {f"{p.id}/{r.id}": r for p in packs for r in p.requirements}
        self._env = _environment(config)

    def _courses(self, notice: Notice) -> list[Course]:
        verdict = notice.verdict
        if verdict is None:
            return []
        ids = list(verdict.shortfall.courses) if not verdict.status.compliant else []
        if not ids and (req := self._requirements.get(verdict.key)) is not None:
            ids = _requirement_courses(req)
        return [self._catalogue.courses[i] for i in dict.fromkeys(ids) if i in self._catalogue.courses]

    def _calendar(self, notice: Notice) -> bytes:
        """The deadline(s) as a calendar: the events the feeds carry, with the same UIDs."""
        pairs = notice.rows if notice.kind == "digest" else ((notice.member, notice.verdict),)
        members: list[Member] = [m for m, _ in pairs if m is not None]
        verdicts = tuple(v for _, v in pairs if v is not None)
        privacy = self._config.privacy if notice.kind != "member" else FeedOptions().privacy
        events = deadline_events(
            ComplianceResult(self._as_of, verdicts, ()), members, self._packs, self._catalogue,
            team_id=self._config.team_id, options=FeedOptions(privacy=privacy, alarm_days=()), stamps=self._stamps,
        )
        calendar = Calendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        calendar.add("method", "PUBLISH")
        for event in events:
            calendar.add_component(event)
        return bytes(calendar.to_ical())

    def context(self, notice: Notice) -> dict[str, Any]:
        """What the templates see."""
        privacy = self._config.privacy
        member = notice.member
        return {
            "team_name": self._config.team_name,
            "agency": notice.agency or self._config.team_name,
            "kind": notice.kind,
            "copy": notice.kind == "copy",
            "stage": notice.stage,
            "verb": notice.verb,
            "deadline": notice.deadline,
            "days": notice.days,
            "as_of": notice.as_of,
            "title": notice.title,
            "requirement": notice.verdict.title if notice.verdict else "",
            "key": notice.requirement,
            "status": notice.verdict.status.value if notice.verdict else "",
            "train_by": notice.verdict.due_on if notice.verdict else None,
            "citation": notice.verdict.citation if notice.verdict else "",
            "courses": self._courses(notice),
            # The member's own notice names them in full; what others get follows the privacy level.
            "name": "" if member is None else member.name if notice.kind == "member" else person_label(member, privacy),
            "member_id": member.id if member else "",
            "rows": [
                {
                    "name": person_label(m, privacy), "id": m.id, "status": v.status.value, "title": v.title,
                    "key": v.key, "due_on": v.due_on, "lapses_on": v.lapses_on,
                }
                for m, v in notice.rows
            ],
        }

    def draft(self, notice: Notice) -> tuple[NoticeDraft, bytes]:
        """The ledger's record of the notice and the message, as bytes for the mail server."""
        context = self.context(notice)
        base = "member" if notice.kind in ("member", "copy") else notice.kind
        subject = " ".join(self._env.get_template(f"{base}.subject.txt").render(context).split())
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"
        message_id = f"<{uuid.uuid5(NAMESPACE, notice.key)}@{domain}>"
        message = EmailMessage(policy=email.policy.SMTP)
        message["From"] = self.sender
        message["To"] = notice.recipient
        message["Subject"] = subject
        message["Date"] = email.utils.format_datetime(dt.datetime.now(dt.UTC))
        message["Message-ID"] = message_id
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
        message.set_content(self._env.get_template(f"{base}.txt").render(context))
        message.add_alternative(self._env.get_template(f"{base}.html").render(context), subtype="html")
        name = "deadlines.ics" if notice.kind == "digest" else "deadline.ics"
        message.add_attachment(
            self._calendar(notice), maintype="text", subtype="calendar", filename=name, params={"method": "PUBLISH"}
        )
        draft = NoticeDraft(
            key=notice.key, kind=notice.kind, agency=notice.agency, member=notice.member.id if notice.member else "",
            requirement=notice.requirement, deadline=notice.deadline, stage=notice.stage, recipient=notice.recipient,
            subject=subject, message_id=message_id,
        )
        return draft, message.as_bytes()

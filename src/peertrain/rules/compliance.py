"""Compliance for a whole roster: every member, every applicable requirement, one as-of date.

:func:`check_compliance` is the entry point other systems call. It is pure: records and a date
in, verdicts out. The command line's ``peertrain check`` is a thin wrapper around it.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from attrs import field, frozen

from peertrain.errors import InputError
from peertrain.rules.catalog import Catalogue
from peertrain.rules.engine import Credit, Subject, evaluate
from peertrain.rules.model import Completion, Course, Member, Waiver, is_self_reported
from peertrain.rules.requirements import RulePack
from peertrain.rules.verdict import Forecast, Status, Verdict

__all__ = ["ComplianceResult", "check_compliance", "credit_completions", "credited_hours", "forecast"]

#: Default horizon, in days, within which a lapse makes a verdict ``due_soon``.
DUE_WITHIN_DAYS = 90


@frozen
class ComplianceResult:
    """Verdicts for a roster as of one date, the per-member forecast, and data warnings.

    ``warnings`` report things the data says that a coordinator should look at but that do not
    stop the check: a record's hours disagreeing with the catalogue, a course with no hours.
    """

    as_of: dt.date
    verdicts: tuple[Verdict, ...]
    forecasts: tuple[Forecast, ...]
    warnings: tuple[str, ...] = field(default=())

    @property
    def compliant(self) -> bool:
        """True when no verdict is ``not_met`` or ``lapsed``."""
        return all(v.status.compliant for v in self.verdicts)

    def for_member(self, member_id: str) -> tuple[Verdict, ...]:
        """The verdicts of one member."""
        return tuple(v for v in self.verdicts if v.member == member_id)

    def counts(self) -> dict[Status, int]:
        """How many verdicts have each status (every status present, zero included)."""
        result = dict.fromkeys(Status, 0)
        for verdict in self.verdicts:
            result[verdict.status] += 1
        return result


def credited_hours(course: Course, hours: Decimal | None) -> tuple[Decimal, str | None]:
    """The hours a completion of ``course`` counts, given the record's ``hours`` (``None``: none on
    the record), and the text of its data-quality note after ``completion <id>``, if any: the
    record's hours win over the catalogue's (noted when they differ); with none anywhere it
    counts 0 h (noted). Every path that makes credits (the engine's, the stream's, the columnar
    one) words its notes with this."""
    if hours is None:
        if course.hours is None:
            return Decimal(0), f" ({course.id}): no hours on the record and none in the catalogue; counted as 0 h"
        return course.hours, None
    if course.hours is not None and hours != course.hours:
        return hours, (
            f" ({course.id}): the record says {hours} h, the catalogue {course.hours} h; "
            "the record's hours were used"
        )
    return hours, None


def credit_completions(
    completions: Iterable[Completion], catalogue: Catalogue
) -> tuple[dict[str, list[Credit]], list[str]]:
    """Resolve completions against the catalogue: the hours, delivery and provider that count.

    Credited hours are the record's when it carries them, else the catalogue's. A record whose
    hours differ from the catalogue's is reported in the returned warnings (the record wins); a
    completion with no hours anywhere counts 0 hours and is reported too.

    Raises :class:`~peertrain.errors.InputError` for a completion of a course the catalogue does
    not know.
    """
    by_member: dict[str, list[Credit]] = defaultdict(list)
    warnings: list[str] = []
    for completion in completions:
        try:
            course = catalogue.course(completion.course)
        except KeyError:
            raise InputError(
                completion.source or "completions",
                f"completion {completion.id!r}: unknown course {completion.course!r}",
                field="course",
            ) from None
        hours, tail = credited_hours(course, completion.hours)
        note = f"completion {completion.id}{tail}" if tail else None
        if note:
            warnings.append(note)
        by_member[completion.member].append(
            Credit(
                id=completion.id,
                course=course,
                on=completion.completed_on,
                hours=hours,
                delivery=completion.delivery or course.delivery,
                provider=completion.provider or course.provider,
                note=note,
                self_reported=is_self_reported(completion.source),
            )
        )
    return by_member, warnings


def check_compliance(
    members: Iterable[Member],
    completions: Iterable[Completion],
    packs: Sequence[RulePack],
    as_of: dt.date,
    *,
    catalogue: Catalogue,
    waivers: Sequence[Waiver] = (),
    due_within: int = DUE_WITHIN_DAYS,
) -> ComplianceResult:
    """Every verdict for every member of ``members`` under every requirement of ``packs``.

    Completions dated after ``as_of`` are ignored, as are members who join after it. The verdicts
    come in roster order, then pack order, then requirement order; the result does not depend on
    the order of ``completions``.
    """
    if due_within < 0:
        raise ValueError(f"due_within must be 0 or more days, got {due_within}")
    members = list(members)
    credits, warnings = credit_completions(completions, catalogue)
    on_roster = {m.id for m in members}
    for member_id in sorted(set(credits) - on_roster):
        warnings.append(f"member {member_id!r} has completions but is not on the roster; not evaluated")
    verdicts: list[Verdict] = []
    for member in members:
        if member.joined_on is not None and member.joined_on > as_of:
            continue
        history = tuple(
            sorted(
                (c for c in credits.get(member.id, ()) if c.on <= as_of),
                key=lambda c: (c.on, c.id),
            )
        )
        subject = Subject(member=member, credits=history, as_of=as_of)
        for pack in packs:
            for req in pack.requirements:
                verdict = evaluate(
                    pack, req, subject, catalogue=catalogue, waivers=waivers, due_within=due_within
                )
                if verdict is not None:
                    verdicts.append(verdict)
    return ComplianceResult(
        as_of=as_of,
        verdicts=tuple(verdicts),
        forecasts=forecast(verdicts, as_of),
        warnings=tuple(sorted(set(warnings))),
    )


def forecast(verdicts: Iterable[Verdict], as_of: dt.date) -> tuple[Forecast, ...]:
    """For each member with verdicts: the next day after ``as_of`` on which one lapses.

    Counts every verdict that is compliant today and has a ``lapses_on`` (a certificate expiring,
    hours ageing out, a period ending short, a grace period or exemption ending).
    """
    soonest: dict[str, tuple[dt.date | None, list[str]]] = {}
    for verdict in verdicts:
        day, keys = soonest.setdefault(verdict.member, (None, []))
        lapse = verdict.lapses_on
        if not verdict.status.compliant or lapse is None or lapse <= as_of:
            continue
        if day is None or lapse < day:
            soonest[verdict.member] = (lapse, [verdict.key])
        elif lapse == day:
            keys.append(verdict.key)
    return tuple(
        Forecast(member=member, as_of=as_of, lapses_on=day, requirements=tuple(keys))
        for member, (day, keys) in soonest.items()
    )

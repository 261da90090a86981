"""The audit trail of one verdict: which rule, which window, which completions counted or were
left out and why, and where each completion came from.

:func:`explain` returns the trail as lines of text for a person (``peertrain explain``). It
re-runs the same pure evaluation as :func:`peertrain.check_compliance`, so the verdict it shows is
the verdict the check gives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from attrs import evolve

from peertrain.errors import InputError
from peertrain.rules.catalog import Catalogue
from peertrain.rules.compliance import DUE_WITHIN_DAYS, check_compliance, credit_completions
from peertrain.rules.convert import converter
from peertrain.rules.engine import Credit
from peertrain.rules.model import Completion, Member, Waiver
from peertrain.rules.requirements import (
    AllOf,
    AnyOf,
    Certificate,
    CourseFilter,
    Hours,
    NOf,
    Recurring,
    Requirement,
    RulePack,
    Topics,
)
from peertrain.rules.verdict import Verdict
from peertrain.rules.windows import add_months

__all__ = ["describe_requirement", "explain", "find_requirement"]


def _num(value: object) -> str:
    return f"{value:f}" if hasattr(value, "normalize") else str(value)


def describe_requirement(req: Requirement) -> list[str]:
    """What a requirement asks, in a line or a few (used by ``rules show`` and ``explain``)."""
    lines = _describe(req)
    if not req.self_reported and lines:
        lines[0] += "; self-reported credit not accepted"
    return lines


def _describe(req: Requirement) -> list[str]:
    if isinstance(req, Hours):
        lines = [f"{_num(req.hours)} h {req.counts.describe()} {req.window.describe()}"]
        for m in req.minimums:
            which = m.counts.describe()
            detail = "" if which == m.label else f" ({which})"
            lines.append(f"of which at least {_num(m.hours)} h {m.label}{detail}")
        return lines
    if isinstance(req, Topics):
        topics = ", ".join(sorted(req.topics)) or "-"
        track = f"; every topic of track {req.track}" if req.track else ""
        return [f"topics: {topics}{track}; {req.counts.describe()} {req.window.describe()}"]
    if isinstance(req, Certificate):
        valid = f"valid {req.valid_months} months" if req.valid_months else "valid as long as the catalogue says"
        extra = "" if req.counts == CourseFilter() else f"; counting {req.counts.describe()}"
        return [f"hold one of: {', '.join(req.courses)} ({valid}){extra}"]
    if isinstance(req, NOf):
        return [f"{req.n} different of: {', '.join(req.courses)} {req.window.describe()}"]
    if isinstance(req, Recurring):
        return [f"{req.sessions} session(s) {req.counts.describe()} {req.window.describe()}"]
    return []


def find_requirement(packs: Sequence[RulePack], key: str) -> tuple[RulePack, Requirement]:
    """The top-level requirement named ``pack/requirement`` or, when unambiguous, ``requirement``."""
    pack_id, _, req_id = key.rpartition("/")
    found = [
        (pack, req) for pack in packs for req in pack.requirements
        if req.id == req_id and (not pack_id or pack.id == pack_id)
    ]
    if len(found) == 1:
        return found[0]
    known = ", ".join(f"{p.id}/{r.id}" for p in packs for r in p.requirements)
    if not found:
        raise InputError("--requirement", f"no requirement {key!r} in the packs checked (they have: {known})")
    raise InputError("--requirement", f"{key!r} is in several packs; name it as PACK/REQUIREMENT ({known})")


def _filter_miss(flt: CourseFilter, credit: Credit, pack: RulePack) -> str | None:
    course = credit.course
    if flt.courses and course.id not in flt.courses:
        return f"not one of {', '.join(sorted(flt.courses))}"
    if flt.topics and not (flt.topics & course.topics):
        return f"its course covers none of the topics {', '.join(sorted(flt.topics))}"
    if flt.functions and not (flt.functions & course.functions):
        return f"its course serves none of the functions {', '.join(sorted(flt.functions))}"
    if flt.providers and credit.provider not in flt.providers:
        return f"provider {credit.provider!r} is not one of {', '.join(sorted(flt.providers))}"
    if flt.delivery and credit.delivery not in flt.delivery:
        return f"delivered {credit.delivery.value.replace('_', ' ')}, not {flt.describe()}"
    if flt.approved_providers_only and credit.provider not in pack.approved_providers:
        return f"provider {credit.provider!r} is not on the pack's approved list"
    return None


def _reason(req: Requirement, credit: Credit, verdict: Verdict, pack: RulePack, as_of: dt.date) -> str:
    if credit.on > as_of:
        return "left out: dated after the as-of date"
    if verdict.waiver is not None and credit.id in verdict.waiver.evidence:
        return f"accepted as evidence of the {verdict.waiver.kind.value}"
    if isinstance(req, Certificate | NOf) and credit.course.id not in req.courses:
        return f"left out: not one of {', '.join(req.courses)}"
    if credit.self_reported and not req.self_reported:
        return "left out: self-reported, and this requirement does not accept self-reported credit"
    miss = _filter_miss(req.counts, credit, pack)  # type: ignore[union-attr]
    if miss:
        return f"left out: {miss}"
    if isinstance(req, Certificate):
        months = req.valid_months or credit.course.validity_months
        if months is None:
            return "counted: does not expire" if credit.id in verdict.evidence else "matches; a later one counts"
        expiry = add_months(credit.on, months)
        if expiry <= as_of:
            return f"left out: expired on {expiry.isoformat()}"
        state = "counted" if credit.id in verdict.evidence else "also valid"
        return f"{state}: valid until {(expiry - dt.timedelta(days=1)).isoformat()}"
    if credit.id in verdict.evidence:
        return "counted"
    start, end = verdict.window_start, verdict.window_end
    if (start and credit.on < start) or (end and credit.on > end):
        where = f"{start.isoformat() if start else '...'} to {end.isoformat() if end else '...'}"
        return f"left out: outside the window {where}"
    return "matches, not needed as evidence"


def _trace(
    req: Requirement, verdict: Verdict, *, credits: Sequence[Credit], pack: RulePack, as_of: dt.date,
    origins: Mapping[str, str], indent: str,
) -> list[str]:
    kind = converter.unstructure(req)["kind"]
    lines = [f"{indent}{req.id} [{kind}]: {req.title}"]
    lines += [f"{indent}  asks: {line}" for line in describe_requirement(req)]
    if verdict.window_start or verdict.window_end:
        start = verdict.window_start.isoformat() if verdict.window_start else "..."
        end = verdict.window_end.isoformat() if verdict.window_end else "..."
        lines.append(f"{indent}  window: {start} to {end}")
    lines.append(f"{indent}  verdict: {verdict.status.value}: {verdict.explanation}")
    if isinstance(req, AllOf | AnyOf):
        parts = {p.requirement: p for p in verdict.parts}
        for part in req.of:
            if part.id in parts:
                lines += _trace(
                    part, parts[part.id], credits=credits, pack=pack, as_of=as_of, origins=origins,
                    indent=indent + "    ",
                )
            else:
                lines.append(f"{indent}    {part.id}: does not apply to this member ({part.applies_to.describe()})")
        return lines
    if not credits:
        lines.append(f"{indent}  completions: none on record")
    for credit in credits:
        origin = origins.get(credit.id, "")
        lines.append(
            f"{indent}  - {credit.id}: {credit.course.id} on {credit.on.isoformat()}, {_num(credit.hours)} h"
            f"{', ' + origin if origin else ''} -> {_reason(req, credit, verdict, pack, as_of)}"
        )
    return lines


def explain(
    member: Member,
    pack: RulePack,
    requirement: Requirement,
    completions: Iterable[Completion],
    as_of: dt.date,
    *,
    catalogue: Catalogue,
    waivers: Sequence[Waiver] = (),
    due_within: int = DUE_WITHIN_DAYS,
    origins: Mapping[str, str] | None = None,
) -> list[str]:
    """The audit trail of ``member``'s verdict for ``requirement`` of ``pack`` as of ``as_of``.

    ``origins`` maps completion ids to where they came from (e.g. ``batch 3, export.csv:14``);
    without it, each completion's own ``source`` is shown.
    """
    mine = [c for c in completions if c.member == member.id]
    single = evolve(pack, requirements=(requirement,))
    result = check_compliance(
        [member], mine, [single], as_of, catalogue=catalogue, waivers=waivers, due_within=due_within
    )
    lines = [
        f"{member.id}: {pack.id}/{requirement.id} as of {as_of.isoformat()}",
        f"rule: {requirement.title} ({requirement.citation or pack.citation}; pack {pack.id} version {pack.version})",
        f"applies to: {requirement.applies_to.describe()}; the member has roles "
        f"{', '.join(sorted(member.roles)) or '-'} and functions {', '.join(sorted(member.functions)) or '-'}",
    ]
    if not result.verdicts:
        lines.append("verdict: none: the requirement does not apply to this member"
                     + (" (joined after the as-of date)" if member.joined_on and member.joined_on > as_of else ""))
        return lines
    (verdict,) = result.verdicts
    grace = pack.grace_for(requirement)
    if grace and member.joined_on:
        end = add_months(member.joined_on, grace)
        lines.append(f"grace: {grace} months from joining on {member.joined_on.isoformat()}, through "
                     f"{(end - dt.timedelta(days=1)).isoformat()}")
    if verdict.waiver is not None:
        w = verdict.waiver
        lines.append(f"{w.kind.value}: granted by {w.granted_by} on {w.granted_on.isoformat()} ({w.reason})"
                     + (f"; source {w.source}" if w.source else ""))
    by_member, _ = credit_completions(mine, catalogue)
    credits = sorted(by_member.get(member.id, []), key=lambda c: (c.on, c.id))
    sources = dict(origins or {c.id: c.source for c in mine if c.source})
    lines += _trace(requirement, verdict, credits=credits, pack=pack, as_of=as_of, origins=sources, indent="")
    if verdict.notes:
        lines += [f"note: {note}" for note in verdict.notes]
    return lines

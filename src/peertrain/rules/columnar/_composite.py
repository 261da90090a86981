"""Every requirement of every pack for every member: vectorised leaves, composites combined from
their parts, and the engine for what is not vectorised; then verdicts member by member."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import polars as pl
from attrs import define, field

from peertrain.rules._credits import Credit, Subject, _Ctx
from peertrain.rules.catalog import Catalogue
from peertrain.rules.columnar._input import Credits
from peertrain.rules.columnar._status import verdict_of
from peertrain.rules.columnar._tally import Context, Measure
from peertrain.rules.engine import SHORTCUTS, Timeline, _composite_tally, _explain, _timeline, combine_timelines
from peertrain.rules.engine import decide, evaluate
from peertrain.rules.model import Delivery, Member, Waiver
from peertrain.rules.requirements import AllOf, AnyOf, Requirement, RulePack
from peertrain.rules.verdict import Status, Verdict
from peertrain.rules.windows import ONE_DAY, add_months

__all__ = ["Composer"]

Leaf = Callable[[Requirement, Context, pl.DataFrame], "pl.DataFrame | None"]


@define
class _Frame:
    """A vectorised requirement: its finished frame, looked up by member."""

    frame: pl.DataFrame
    columns: dict[str, list[Any]] = field(init=False)
    at: dict[str, int] = field(init=False)
    #: Members whose waiver makes the verdict the engine's exempt one.
    exempt: dict[str, Verdict] = field(factory=dict)

    def __attrs_post_init__(self) -> None:
        self.columns = self.frame.to_dict(as_series=False)
        self.at = {m: i for i, m in enumerate(self.columns["member"])}

    def row(self, member: str) -> dict[str, Any] | None:
        i = self.at.get(member)
        return None if i is None else {name: values[i] for name, values in self.columns.items()}


@define
class _Objects:
    """A requirement evaluated member by member: each member's verdict and timeline."""

    verdicts: dict[str, Verdict] = field(factory=dict)
    timelines: dict[str, Timeline] = field(factory=dict)


_Result = _Frame | _Objects


@define
class Composer:
    rows: pl.DataFrame
    credits: Credits
    members: list[Member]
    packs: tuple[RulePack, ...]
    as_of: dt.date
    catalogue: Catalogue
    waivers: tuple[Waiver, ...]
    due_within: int
    measures: tuple[Measure, ...]
    #: ``pack/requirement`` -> why the engine evaluated it member by member.
    by_engine: dict[str, str] = field(factory=dict)
    results: dict[tuple[int, int], _Result] = field(factory=dict)
    _offsets: dict[str, tuple[int, int]] | None = None
    _notes: dict[str, list[tuple[str, str]]] = field(factory=dict)
    _leaf: Leaf | None = None

    # -- evaluating ------------------------------------------------------------------------

    def run(self, leaf: Leaf) -> None:
        self._leaf = leaf
        noted = self.credits.table.filter(pl.col("note").is_not_null()).select("member", "id", "note")
        for member, cid, note in noted.iter_rows():
            self._notes.setdefault(member, []).append((cid, note))
        for p, pack in enumerate(self.packs):
            ctx = Context(pack, self.catalogue, self.credits, self.as_of)
            for r, req in enumerate(pack.requirements):
                applicable = [m for m in self.members if req.applies_to.matches(m)]
                grace = pack.grace_for(req)
                result = self._evaluate(pack, req, ctx, applicable, grace, top=True)
                if result is None:
                    self.by_engine[f"{pack.id}/{req.id}"] = "its kind or window is not vectorised yet"
                    result = self._by_engine(pack, req, applicable, grace, top=True)
                self._waive(pack, req, applicable, result)
                self.results[(p, r)] = result

    def _subjects(self, members: Sequence[Member], grace: int) -> pl.DataFrame:
        ends = {}
        for m in members:
            if m.joined_on is not None and m.joined_on not in ends:
                ends[m.joined_on] = add_months(m.joined_on, grace) if grace else None
        return pl.DataFrame(
            {
                "member": [m.id for m in members],
                "joined_on": [m.joined_on for m in members],
                "grace_end": [ends.get(m.joined_on) if m.joined_on else None for m in members],  # type: ignore[arg-type]
            },
            schema={"member": pl.String, "joined_on": pl.Date, "grace_end": pl.Date},
        )

    def _evaluate(
        self, pack: RulePack, req: Requirement, ctx: Context, members: list[Member], grace: int, top: bool
    ) -> _Result | None:
        if isinstance(req, AllOf | AnyOf):
            parts = []
            for part in req.of:
                within = [m for m in members if part.applies_to.matches(m)]
                found = self._evaluate(pack, part, ctx, within, grace, top=False)
                if found is None:
                    return None
                parts.append((part, found))
            return self._combine(pack, req, members, parts, grace, top)
        assert self._leaf is not None
        frame = self._leaf(req, ctx, self._subjects(members, grace))
        return None if frame is None else _Frame(frame)

    def _combine(
        self, pack: RulePack, req: AllOf | AnyOf, members: list[Member], parts: list[tuple[Requirement, _Result]],
        grace: int, top: bool,
    ) -> _Objects:
        result = _Objects()
        for member in members:
            found = [got for part, res in parts if (got := self._part(pack, part, res, member.id)) is not None]
            part_verdicts = [v for v, _t in found if v is not None]
            timeline = combine_timelines(req, [t for _v, t in found])
            if not found:
                result.timelines[member.id] = timeline  # type: ignore[assignment]
                continue
            if timeline is None:  # only the engine's scan tells
                verdict, timeline = self._engine_one(pack, req, member, grace, top)
                assert verdict is not None
                result.verdicts[member.id], result.timelines[member.id] = verdict, timeline
                continue
            tally = _composite_tally(req, part_verdicts)
            end = add_months(member.joined_on, grace) if member.joined_on and grace else None
            satisfied, lapses, _last = timeline
            status, lapses_on, due_on = decide(satisfied, lapses, tally.satisfied, end, self.as_of, self.due_within)
            result.verdicts[member.id] = Verdict(
                member=member.id, pack=pack.id, requirement=req.id, title=req.title, status=status, as_of=self.as_of,
                explanation=_explain(status, tally.detail, lapses_on, due_on, req),
                citation=req.citation or pack.citation, shortfall=tally.shortfall, due_on=due_on,
                lapses_on=lapses_on, evidence=tally.evidence, notes=self.notes(member.id, tally.evidence),
                parts=tuple(part_verdicts),
            )
            result.timelines[member.id] = timeline
        return result

    def _part(
        self, pack: RulePack, req: Requirement, result: _Result, member: str
    ) -> tuple[Verdict | None, Timeline] | None:
        """A part's verdict (``None`` for a composite none of whose parts apply) and timeline, or
        ``None`` when the part does not apply to the member."""
        if isinstance(result, _Objects):
            timeline = result.timelines.get(member)
            return None if timeline is None else (result.verdicts.get(member), timeline)
        row = result.row(member)
        if row is None:
            return None
        satisfied, lapses = row["satisfied"], row["lapses"]
        last = lapses - ONE_DAY if not satisfied and lapses is not None else None
        verdict = verdict_of(row, pack, req, self.as_of, self.credits.scale, self.notes(member, row["evidence"]))
        return verdict, (satisfied, lapses, last)

    # -- the engine, member by member -----------------------------------------------------------

    def subject(self, member: Member) -> Subject:
        if self._offsets is None:
            lengths = self.credits.table.group_by("member", maintain_order=True).len()
            self._offsets, start = {}, 0
            for name, n in lengths.iter_rows():
                self._offsets[name] = (start, n)
                start += n
        start, n = self._offsets.get(member.id, (0, 0))
        scale = self.credits.scale
        credits = tuple(
            Credit(id=cid, course=self.catalogue.course(course), on=on, hours=scale.hours(units),
                   delivery=Delivery(delivery), provider=provider, note=note, self_reported=sr)
            for cid, course, on, units, delivery, provider, sr, note in self.credits.table.slice(start, n)
            .select("id", "course", "on", "hours", "delivery", "provider", "self_reported", "note").iter_rows()
        )
        return Subject(member=member, credits=credits, as_of=self.as_of)

    def _engine_one(
        self, pack: RulePack, req: Requirement, member: Member, grace: int, top: bool
    ) -> tuple[Verdict | None, Timeline]:
        subject = self.subject(member)
        verdict = evaluate(pack, req, subject, catalogue=self.catalogue, due_within=self.due_within,
                           top_level=False, grace_months=grace)
        end = add_months(member.joined_on, grace) if member.joined_on and grace else None
        ctx = _Ctx(pack, self.catalogue, subject, end, member.joined_on, SHORTCUTS and subject.ordered)
        return verdict, _timeline(req, ctx)

    def _by_engine(self, pack: RulePack, req: Requirement, members: list[Member], grace: int, top: bool) -> _Objects:
        result = _Objects()
        for member in members:
            verdict, timeline = self._engine_one(pack, req, member, grace, top)
            if verdict is not None:
                result.verdicts[member.id] = verdict
            result.timelines[member.id] = timeline
        return result

    def _waive(self, pack: RulePack, req: Requirement, members: list[Member], result: _Result) -> None:
        """Members with a waiver active on D get the engine's exempt verdict instead."""
        waived = {w.member for w in self.waivers if w.pack == pack.id and w.requirement == req.id
                  and w.active_on(self.as_of)}
        if not waived:
            return
        exempt = {}
        for member in members:
            if member.id in waived:
                verdict = evaluate(pack, req, Subject(member=member, credits=(), as_of=self.as_of),
                                   catalogue=self.catalogue, waivers=self.waivers, due_within=self.due_within)
                assert verdict is not None
                exempt[member.id] = verdict
        if isinstance(result, _Objects):
            result.verdicts.update(exempt)
        else:
            result.exempt = exempt

    # -- reading --------------------------------------------------------------------------------

    def notes(self, member: str, evidence: Sequence[str]) -> tuple[str, ...]:
        noted = self._notes.get(member)
        if not noted:
            return ()
        wanted = set(evidence)
        return tuple(note for cid, note in noted if cid in wanted)

    def verdicts_of(self, member: Member) -> list[Verdict]:
        found = []
        for p, pack in enumerate(self.packs):
            for r, req in enumerate(pack.requirements):
                result = self.results[(p, r)]
                if isinstance(result, _Objects):
                    verdict = result.verdicts.get(member.id)
                else:
                    verdict = result.exempt.get(member.id)
                    if verdict is None and (row := result.row(member.id)) is not None:
                        verdict = verdict_of(row, pack, req, self.as_of, self.credits.scale,
                                             self.notes(member.id, row["evidence"]))
                if verdict is not None:
                    found.append(verdict)
        return found

    def counts(self) -> dict[Status, int]:
        counts: Counter[Status] = Counter()
        for result in self.results.values():
            if isinstance(result, _Objects):
                counts.update(v.status for v in result.verdicts.values())
                continue
            exempt = result.exempt
            counts.update(Status(s) for m, s in zip(result.columns["member"], result.columns["status"])
                          if m not in exempt)
            counts[Status.EXEMPT] += len(exempt)
        return {status: counts[status] for status in Status}

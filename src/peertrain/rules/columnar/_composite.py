"""Every requirement of every pack for every member: vectorised leaves, composites combined from
their parts, and the engine for what is not vectorised; then verdicts member by member."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Sequence

import polars as pl
from attrs import define, field

from peertrain.rules._credits import Credit, Subject, _Ctx
from peertrain.rules.catalog import Catalogue
from peertrain.rules.columnar._combine import combine
from peertrain.rules.columnar._input import Credits
from peertrain.rules.columnar._status import collector_paused, finish, row_of, verdicts_of
from peertrain.rules.columnar._tally import Context, Measure
from peertrain.rules.engine import SHORTCUTS, Timeline, _timeline, evaluate
from peertrain.rules.model import Member, Waiver
from peertrain.rules.requirements import AllOf, AnyOf, Requirement, RulePack
from peertrain.rules.verdict import Status, Verdict
from peertrain.rules.windows import add_months

__all__ = ["Composer"]

Leaf = Callable[[Requirement, Context, pl.DataFrame], "pl.DataFrame | None"]


@define
class _Frame:
    """A requirement evaluated on columns: its finished frame (one row per member it applies to),
    its parts' (for all_of / any_of), and the members whose verdict the engine gave instead."""

    frame: pl.DataFrame
    parts: list[tuple[Requirement, _Frame]] = field(factory=list)
    #: The engine's verdict for these members (an active waiver, or a timeline only a scan finds).
    overrides: dict[str, Verdict] = field(factory=dict)
    #: Every verdict, by member, once they are asked for.
    made: dict[str, Verdict] | None = None


@define
class _Objects:
    """A requirement evaluated member by member by the engine."""

    verdicts: dict[str, Verdict] = field(factory=dict)


_Result = _Frame | _Objects


@define
class Composer:
    credits: Credits
    members: list[Member]
    packs: tuple[RulePack, ...]
    as_of: dt.date
    catalogue: Catalogue
    waivers: tuple[Waiver, ...]
    due_within: int
    measures: tuple[Measure, ...]
    #: The roster evaluated, as a polars ``Enum`` (the ``member`` column of every frame).
    roster_type: pl.DataType
    #: ``pack/requirement`` -> why the engine evaluated it member by member.
    by_engine: dict[str, str] = field(factory=dict)
    results: dict[tuple[int, int], _Result] = field(factory=dict)
    _offsets: dict[str, tuple[int, int]] | None = None
    _notes: dict[str, list[tuple[str, str]]] = field(factory=dict)
    _leaf: Leaf | None = None
    _base: pl.DataFrame | None = None
    #: ``_subjects`` by grace months and the ids of the members (most requirements share them).
    _subject_frames: dict[tuple[int, tuple[str, ...]], pl.DataFrame] = field(factory=dict)

    # -- evaluating ------------------------------------------------------------------------

    def run(self, leaf: Leaf) -> None:
        """Evaluate every requirement, its leaves with ``leaf``. ``leaf`` is dropped at the end:
        kept, it (a closure over this composer) would make a reference cycle that holds every
        frame until Python's cyclic collector happens to run, a chunk's tables piling up on the next."""
        self._leaf = leaf
        try:
            self._run()
        finally:
            self._leaf = None

    def _run(self) -> None:
        noted = self.credits.table.filter(pl.col("note").is_not_null()).select("member", "id", "note")
        for member, cid, note in noted.iter_rows():
            self._notes.setdefault(member, []).append((cid, note))
        for p, pack in enumerate(self.packs):
            ctx = Context(pack, self.catalogue, self.credits, self.as_of)
            for r, req in enumerate(pack.requirements):
                applicable = [m for m in self.members if req.applies_to.matches(m)]
                grace = pack.grace_for(req)
                result: _Result | None = self._evaluate(pack, req, ctx, applicable, grace)
                if result is None:
                    self.by_engine[f"{pack.id}/{req.id}"] = "its kind or window is not vectorised yet"
                    result = self._by_engine(pack, req, applicable, grace)
                self._waive(pack, req, applicable, result)
                self.results[(p, r)] = result

    def _subjects(self, members: Sequence[Member], grace: int) -> pl.DataFrame:
        """``member``, ``joined_on`` and ``grace_end`` of ``members`` (a part of the roster); made
        once for each grace period and set of members."""
        key = (grace, tuple(m.id for m in members))
        found = self._subject_frames.get(key)
        if found is None:
            found = self._subject_frames[key] = self._make_subjects(members, grace)
        return found

    def _make_subjects(self, members: Sequence[Member], grace: int) -> pl.DataFrame:
        if self._base is None:
            self._base = pl.DataFrame(
                {"member": [m.id for m in self.members], "joined_on": [m.joined_on for m in self.members]},
                schema={"member": self.roster_type, "joined_on": pl.Date},
            )
        base = self._base
        if len(members) != len(self.members):
            base = base.filter(pl.col("member").is_in(pl.Series([m.id for m in members], dtype=pl.String).implode()))
        if not grace:
            return base.with_columns(grace_end=pl.lit(None, dtype=pl.Date))
        ends = {d: add_months(d, grace) for d in base["joined_on"].unique().to_list() if d is not None}
        return base.with_columns(grace_end=pl.col("joined_on").replace_strict(ends, default=None, return_dtype=pl.Date))

    def _evaluate(
        self, pack: RulePack, req: Requirement, ctx: Context, members: list[Member], grace: int
    ) -> _Frame | None:
        subjects = self._subjects(members, grace)
        if isinstance(req, AllOf | AnyOf):
            parts = []
            for part in req.of:
                found = self._evaluate(pack, part, ctx, [m for m in members if part.applies_to.matches(m)], grace)
                if found is None:
                    return None
                parts.append((part, found))
            tally = combine(req, subjects, [(part, found.frame) for part, found in parts])
            frame = finish(tally.drop("has_verdict", "scan"), subjects, self.as_of, self.due_within)
            frame = frame.join(tally.select("member", "has_verdict", "scan"), on="member", how="left")
            result = _Frame(frame.drop("scan"), parts)
            scanned = frame.filter("scan")["member"].to_list()
            if scanned:
                self._scan(pack, req, result, [m for m in members if m.id in set(scanned)], grace)
            return result
        assert self._leaf is not None
        finished = self._leaf(req, ctx, subjects)
        return None if finished is None else _Frame(finished.with_columns(has_verdict=pl.lit(True)))

    def _scan(self, pack: RulePack, req: Requirement, result: _Frame, members: list[Member], grace: int) -> None:
        """The engine's verdicts and timelines for ``members``, put in ``result``'s frame."""
        rows = []
        for member in members:
            verdict, (satisfied, lapses, _last) = self._engine_one(pack, req, member, grace)
            assert verdict is not None
            result.overrides[member.id] = verdict
            rows.append(row_of(verdict, satisfied, lapses, self.credits.scale))
        frame = result.frame
        new = pl.DataFrame(rows, schema={n: frame.schema[n] for n in rows[0]}, orient="row")
        new = new.join(frame.select("member", "grace_end", "has_verdict"), on="member", how="left")
        result.frame = pl.concat([frame.filter(~pl.col("member").is_in(new["member"].implode())),
                                  new.select(frame.columns)])

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
        credits = []
        rows = self.credits.table.slice(start, n).select("id", "on", "hours", "note", "group").iter_rows()
        for cid, on, units, note, group in rows:
            course, provider, delivery, self_reported = self.credits.groups[group]
            credits.append(Credit(id=cid, course=self.catalogue.course(course), on=on, hours=scale.hours(units),
                                  delivery=delivery, provider=provider, note=note, self_reported=self_reported))
        return Subject(member=member, credits=tuple(credits), as_of=self.as_of)

    def _engine_one(
        self, pack: RulePack, req: Requirement, member: Member, grace: int
    ) -> tuple[Verdict | None, Timeline]:
        subject = self.subject(member)
        verdict = evaluate(pack, req, subject, catalogue=self.catalogue, due_within=self.due_within,
                           top_level=False, grace_months=grace)
        end = add_months(member.joined_on, grace) if member.joined_on and grace else None
        ctx = _Ctx(pack, self.catalogue, subject, end, member.joined_on, SHORTCUTS and subject.ordered)
        return verdict, _timeline(req, ctx)

    def _by_engine(self, pack: RulePack, req: Requirement, members: list[Member], grace: int) -> _Objects:
        result = _Objects()
        for member in members:
            verdict, _found = self._engine_one(pack, req, member, grace)
            if verdict is not None:
                result.verdicts[member.id] = verdict
        return result

    def _waive(self, pack: RulePack, req: Requirement, members: list[Member], result: _Result) -> None:
        """Members with a waiver active on D get the engine's exempt verdict instead."""
        waived = {w.member for w in self.waivers if w.pack == pack.id and w.requirement == req.id
                  and w.active_on(self.as_of)}
        for member in members:
            if member.id in waived:
                verdict = evaluate(pack, req, Subject(member=member, credits=(), as_of=self.as_of),
                                   catalogue=self.catalogue, waivers=self.waivers, due_within=self.due_within)
                assert verdict is not None
                if isinstance(result, _Objects):
                    result.verdicts[member.id] = verdict
                else:
                    result.overrides[member.id] = verdict

    # -- reading --------------------------------------------------------------------------------

    def notes(self, member: str, evidence: Sequence[str]) -> tuple[str, ...]:
        noted = self._notes.get(member)
        if not noted:
            return ()
        wanted = set(evidence)
        return tuple(note for cid, note in noted if cid in wanted)

    def _verdicts(self, pack: RulePack, req: Requirement, result: _Result) -> dict[str, Verdict]:
        """Every verdict of a requirement, by member (made once, then kept)."""
        if isinstance(result, _Objects):
            return result.verdicts
        if result.made is None:
            parts = [self._verdicts(pack, part, found) for part, found in result.parts]
            with collector_paused():
                result.made = verdicts_of(result.frame, pack, req, self.as_of, self.credits.scale,
                                          self.notes if self._notes else None, parts,
                                          skip=result.overrides)
            result.made.update(result.overrides)
        return result.made

    def verdicts_of(self, member: Member) -> list[Verdict]:
        """``member``'s verdicts, in pack and requirement order."""
        found = []
        for p, pack in enumerate(self.packs):
            for r, req in enumerate(pack.requirements):
                verdict = self._verdicts(pack, req, self.results[(p, r)]).get(member.id)
                if verdict is not None:
                    found.append(verdict)
        return found

    def counts(self) -> dict[Status, int]:
        counts: Counter[Status] = Counter()
        for result in self.results.values():
            if isinstance(result, _Objects):
                counts.update(v.status for v in result.verdicts.values())
                continue
            counts.update(v.status for v in result.overrides.values())
            rest = result.frame.filter(pl.col("has_verdict") & ~pl.col("member").is_in(
                pl.Series(list(result.overrides), dtype=pl.String).implode()))
            for status, n in rest.group_by("status").len().iter_rows():
                counts[Status(status)] += n
        return {status: counts[status] for status in Status}

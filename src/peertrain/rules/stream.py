"""Compliance for a whole ledger, streamed member by member in bounded memory.

:func:`stream_compliance` gives the same verdicts, forecasts and warnings as
:func:`~peertrain.rules.compliance.check_compliance` over ``ledger.members()`` and
``ledger.completions()``, in the same order, but reads the ledger one member at a time
(:meth:`~peertrain.ledger.Ledger.completions_by_member`) and hands each member's verdicts over
before it reads the next. What it reads is :class:`CompletionsByMember`, defined here, in the
domain: the ledger provides it (any :class:`~peertrain.ledger.Ledger` is one) without the domain
importing the ledger. Memory holds the roster, one member's records and verdicts, and the
running counts, however many completions the ledger has. The columnar path (the default for a
ledger that gives Arrow tables) reads and evaluates :data:`CHUNK_MEMBERS` members at a time instead.

    stream = stream_compliance(ledger, packs, as_of, catalogue=catalogue)
    for result in stream:              # one MemberVerdicts per member with verdicts
        for verdict in result.verdicts:
            ...
    stream.counts, stream.failing, stream.warnings   # complete once the loop has ended
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from peertrain._prefetch import prefetched
from peertrain.errors import InputError
from peertrain.rules.catalog import Catalogue
from peertrain.rules.compliance import DUE_WITHIN_DAYS, credited_hours, forecast
from peertrain.rules.engine import Credit, Subject, evaluate
from peertrain.rules.model import Course, Delivery, Member, Waiver, is_self_reported, to_hours
from peertrain.rules.requirements import RulePack
from peertrain.rules.verdict import MemberVerdicts, Status

__all__ = ["CompletionRow", "CompletionsByMember", "ComplianceStream", "MemberVerdicts", "stream_compliance"]


#: One completed record as :meth:`CompletionsByMember.completions_by_member` gives it, without
#: building a :class:`~peertrain.rules.model.Completion`: ``(id, course, date as YYYY-MM-DD, hours as text
#: or None, delivery or None, provider or None, origin)``.
CompletionRow = tuple[str, str, str, str | None, str | None, str | None, str]


class CompletionsByMember(Protocol):
    """What :func:`stream_compliance` reads: a roster and its completed records grouped by member.
    :class:`~peertrain.ledger.Ledger` provides it."""

    def members(self) -> list[Member]:
        """The roster, in id order."""
        ...

    def completions_by_member(self) -> Iterator[tuple[str, list[CompletionRow]]]:
        """``(member id, that member's completed rows in id order)``, each member once, members in
        increasing order of ``member id + "/"``; only one member's rows need be in memory at a time."""
        ...


#: How many members :class:`ComplianceStream` evaluates at a time on the columnar path: memory
#: holds one chunk's records and verdicts (and the next chunk's records, read ahead). With 2,000
#: members of 40 records each a 50,000-member ledger peaks at about 410 MB (2,500: 445-495 MB on
#: the same machine, too close to the 500 MB target; docs/performance.md).
CHUNK_MEMBERS = 2_000


@runtime_checkable
class CompletionTables(Protocol):
    """A ledger that gives its completed records as Arrow tables, for the columnar evaluation.
    :class:`~peertrain.ledger.sqlite.SQLiteLedger` is one."""

    def completion_table(self, start: str | None = None, stop: str | None = None) -> Any:
        """The completed records whose id is ``>= start`` and ``< stop`` (``None``: no bound), as a
        ``pyarrow.Table`` of :data:`~peertrain.rules.columnar.ROW_COLUMNS`, all text."""
        ...


def chunk_tables(ledger: CompletionTables, chunks: Sequence[Sequence[Member]]) -> Iterator[Any]:
    """The completed records of each chunk of members (consecutive runs of the roster sorted by
    ``id + "/"``) as the ledger's Arrow table, one range of record ids each."""
    for k, chunk in enumerate(chunks):
        start = chunk[0].id + "/" if k > 0 else None
        stop = chunks[k + 1][0].id + "/" if k + 1 < len(chunks) else None
        yield ledger.completion_table(start, stop)


class ComplianceStream:
    """The verdicts of a ledger as an iterable of :class:`MemberVerdicts`, in roster order.

    It can be iterated once. The running totals (:attr:`counts`, :attr:`members`,
    :attr:`failing`, :attr:`warnings`) are complete when the iteration has ended.
    """

    def __init__(
        self,
        ledger: CompletionsByMember,
        packs: Sequence[RulePack],
        as_of: dt.date,
        *,
        catalogue: Catalogue,
        waivers: Sequence[Waiver] = (),
        due_within: int = DUE_WITHIN_DAYS,
        members: Sequence[Member] | None = None,
        columnar: bool | None = None,
        chunk_members: int = CHUNK_MEMBERS,
    ) -> None:
        if due_within < 0:
            raise ValueError(f"due_within must be 0 or more days, got {due_within}")
        self.as_of = as_of
        self._ledger = ledger
        self._packs = tuple(packs)
        self._catalogue = catalogue
        self._due_within = due_within
        self._roster = list(ledger.members() if members is None else members)
        if len({m.id for m in self._roster}) != len(self._roster):
            raise ValueError("members must have different ids")
        if columnar is None:
            columnar = isinstance(ledger, CompletionTables)
        elif columnar and not isinstance(ledger, CompletionTables):
            raise TypeError("columnar evaluation needs a ledger with completion_table()")
        if chunk_members < 1:
            raise ValueError(f"chunk_members must be 1 or more, got {chunk_members}")
        #: Whether the verdicts come from the columnar evaluation (:mod:`peertrain.rules.columnar`).
        self.columnar = columnar
        self._chunk = chunk_members
        self._waiver_list = tuple(waivers)
        self._waivers: dict[str, list[Waiver]] = defaultdict(list)
        for waiver in waivers:
            self._waivers[waiver.member].append(waiver)
        self._started = False
        #: How many verdicts have each status so far (every status present).
        self.counts: dict[Status, int] = dict.fromkeys(Status, 0)
        #: How many members had at least one verdict so far.
        self.members = 0
        #: Ids of the members with a ``lapsed`` or ``not_met`` verdict so far, in roster order.
        self.failing: list[str] = []
        self._warnings: set[str] = set()
        self._credits = _CreditMaker(catalogue)

    @property
    def roster(self) -> list[Member]:
        """The members to evaluate (those who join after the as-of date get no verdicts)."""
        return self._roster

    @property
    def warnings(self) -> tuple[str, ...]:
        """Data warnings so far, sorted (as :attr:`ComplianceResult.warnings`)."""
        return tuple(sorted(self._warnings | self._credits.warnings))

    @property
    def total(self) -> int:
        """How many verdicts so far."""
        return sum(self.counts.values())

    @property
    def compliant(self) -> bool:
        """True when no verdict so far is ``not_met`` or ``lapsed``."""
        return not self.failing

    def __iter__(self) -> Iterator[MemberVerdicts]:
        if self._started:
            raise RuntimeError("a compliance stream can be iterated only once")
        self._started = True
        return self._run()

    def _run(self) -> Iterator[MemberVerdicts]:
        """Evaluate in the ledger's order (member id + "/"), hand back in roster order: a result
        waits only while a member before it in the roster has not been evaluated yet."""
        position = {m.id: i for i, m in enumerate(self._roster)}
        waiting: dict[int, MemberVerdicts | None] = {}
        following = 0
        for member, result in self._merge(sorted(self._roster, key=lambda m: m.id + "/")):
            waiting[position[member.id]] = result
            while following in waiting:
                ready = waiting.pop(following)
                following += 1
                if ready is not None:
                    self._tally(ready)
                    yield ready

    def _tally(self, result: MemberVerdicts) -> None:
        failing = False
        for verdict in result.verdicts:
            self.counts[verdict.status] += 1
            failing = failing or not verdict.status.compliant
        self.members += 1
        if failing:
            self.failing.append(result.member.id)

    def _merge(self, roster: list[Member]) -> Iterator[tuple[Member, MemberVerdicts | None]]:
        """Walk the roster and the ledger's per-member records together, both in ledger order."""
        if self.columnar:
            yield from self._columnar(roster)
            return
        groups = self._ledger.completions_by_member()
        pending = next(groups, None)
        for member in roster:
            key = member.id + "/"
            rows: list[CompletionRow] = []
            while pending is not None and pending[0] + "/" <= key:
                if pending[0] == member.id:
                    rows = pending[1]
                else:
                    self._stray(pending)
                pending = next(groups, None)
            yield member, self._evaluate(member, self._credits.make(rows))
        while pending is not None:
            self._stray(pending)
            pending = next(groups, None)

    def _columnar(self, roster: list[Member]) -> Iterator[tuple[Member, MemberVerdicts | None]]:
        """Evaluate ``chunk_members`` members at a time on columns: each chunk's records are one
        range of record ids (a member's ids start with the member id and ``/``); with a member id
        that holds a ``/`` the ranges would interleave, so then the whole roster is one chunk.
        A chunk's tables are freed before the next chunk is read."""
        import polars as pl  # noqa: PLC0415 - the compiled libraries load only when used

        from peertrain.rules.columnar import ScaleError, columnar_compliance  # noqa: PLC0415
        from peertrain.rules.columnar._status import collector_paused  # noqa: PLC0415

        ledger = self._ledger
        assert isinstance(ledger, CompletionTables)
        size = len(roster) if any("/" in m.id for m in roster) else self._chunk
        chunks = [roster[i : i + size] for i in range(0, len(roster), size)] or [[]]
        # The next chunk's records are read (by the database, without Python's lock) while this
        # one is evaluated.
        for chunk, table in zip(chunks, prefetched(chunk_tables(ledger, chunks), 1), strict=True):
            rows = pl.from_arrow(table)
            del table
            assert isinstance(rows, pl.DataFrame)
            try:
                result = columnar_compliance(
                    rows, chunk, self._packs, self.as_of, catalogue=self._catalogue, waivers=self._waiver_list,
                    due_within=self._due_within,
                )
            except ScaleError:  # hour figures only the engine adds up exactly
                yield from self._by_engine(chunk, rows.rows())
                continue
            self._warnings.update(result.warnings)
            with collector_paused():  # a chunk's Verdicts, forecasts and MemberVerdicts: no cycles
                found = {mv.member.id: mv for mv in result.member_verdicts()}
            del result, rows  # one chunk's tables in memory at a time
            for member in chunk:
                yield member, found.get(member.id)
            del found

    def _by_engine(
        self, chunk: list[Member], rows: list[tuple[str, ...]]
    ) -> Iterator[tuple[Member, MemberVerdicts | None]]:
        groups: dict[str, list[CompletionRow]] = defaultdict(list)
        for member_id, *row in sorted(rows, key=lambda r: (r[0] + "/", r[1])):
            groups[member_id].append(tuple(row))  # type: ignore[arg-type]
        on_chunk = {m.id for m in chunk}
        for member_id, group in groups.items():
            if member_id not in on_chunk:
                self._stray((member_id, group))
        for member in chunk:
            yield member, self._evaluate(member, self._credits.make(groups.get(member.id, [])))

    def _stray(self, group: tuple[str, list[CompletionRow]]) -> None:
        self._credits.make(group[1])  # unknown courses and hour mismatches are reported all the same
        self._warnings.add(f"member {group[0]!r} has completions but is not on the roster; not evaluated")

    def _evaluate(self, member: Member, credits: list[Credit]) -> MemberVerdicts | None:
        as_of = self.as_of
        if member.joined_on is not None and member.joined_on > as_of:
            return None
        history = tuple(sorted((c for c in credits if c.on <= as_of), key=lambda c: (c.on, c.id)))
        subject = Subject(member=member, credits=history, as_of=as_of)
        waivers = self._waivers.get(member.id, ())
        verdicts = []
        for pack in self._packs:
            for req in pack.requirements:
                verdict = evaluate(
                    pack, req, subject, catalogue=self._catalogue, waivers=waivers, due_within=self._due_within
                )
                if verdict is not None:
                    verdicts.append(verdict)
        if not verdicts:
            return None
        (outlook,) = forecast(verdicts, as_of)
        return MemberVerdicts(member, tuple(verdicts), outlook)


class _CreditMaker:
    """Ledger rows to :class:`Credit` as :func:`~peertrain.rules.compliance.credit_completions` makes
    them from :class:`~peertrain.rules.model.Completion`, with the parsing of repeated dates and hours
    remembered."""

    def __init__(self, catalogue: Catalogue) -> None:
        self._catalogue = catalogue
        self._courses: dict[str, Course] = {}
        self._dates: dict[str, dt.date] = {}
        self._hours: dict[str, Decimal] = {}
        self.warnings: set[str] = set()

    def make(self, rows: list[CompletionRow]) -> list[Credit]:
        credits = []
        for cid, course_id, day, hours_text, delivery, given_provider, origin in rows:
            course = self._courses.get(course_id)
            if course is None:
                try:
                    course = self._courses[course_id] = self._catalogue.course(course_id)
                except KeyError:
                    raise InputError(
                        origin or "completions", f"completion {cid!r}: unknown course {course_id!r}", field="course"
                    ) from None
            on = self._dates.get(day)
            if on is None:
                on = self._dates[day] = dt.date.fromisoformat(day)
            record_hours = None
            if hours_text is not None:
                record_hours = self._hours.get(hours_text)
                if record_hours is None:
                    record_hours = self._hours[hours_text] = to_hours(Decimal(hours_text))
            hours, tail = credited_hours(course, record_hours)
            note = f"completion {cid}{tail}" if tail else None
            if note:
                self.warnings.add(note)
            provider = given_provider.strip() if given_provider else None
            credits.append(
                Credit(
                    id=cid,
                    course=course,
                    on=on,
                    hours=hours,
                    delivery=Delivery(delivery) if delivery else course.delivery,
                    provider=provider or course.provider,
                    note=note,
                    self_reported=is_self_reported(origin),
                )
            )
        return credits


def stream_compliance(
    ledger: CompletionsByMember,
    packs: Sequence[RulePack],
    as_of: dt.date,
    *,
    catalogue: Catalogue,
    waivers: Sequence[Waiver] = (),
    due_within: int = DUE_WITHIN_DAYS,
    members: Sequence[Member] | None = None,
    columnar: bool | None = None,
    chunk_members: int = CHUNK_MEMBERS,
) -> ComplianceStream:
    """Every verdict for the ledger's roster (or ``members``) under ``packs`` as of ``as_of``,
    streamed one member at a time; see :class:`ComplianceStream`.

    The verdicts, forecasts and warnings are those of :func:`~peertrain.rules.compliance.check_compliance`
    given ``ledger.members()`` and ``ledger.completions()``.

    ``columnar``: evaluate ``chunk_members`` members at a time on columns
    (:mod:`peertrain.rules.columnar`, the same verdicts, about 1.7 times faster than the engine on
    50,000 members, with about twice its memory: docs/performance.md)
    instead of one member at a time with the engine. ``None`` (the default) chooses it when the
    ledger gives its records as tables (:class:`CompletionTables`, as the SQLite ledger does).
    """
    return ComplianceStream(
        ledger, packs, as_of, catalogue=catalogue, waivers=waivers, due_within=due_within, members=members,
        columnar=columnar, chunk_members=chunk_members,
    )

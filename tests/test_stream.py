"""Streaming compliance from a ledger, and the engine's shortcuts: the same answers as the scan
and as check_compliance, on random data, on the bundled packs and on the demo team."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from attrs import evolve
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import BACKENDS
from peertrain import (
    AllOf,
    AnyOf,
    Certificate,
    Completion,
    CourseFilter,
    Hours,
    Member,
    Minimum,
    NOf,
    Periodic,
    Recurring,
    RulePack,
    Topics,
    Waiver,
    check_compliance,
    load_bundled_catalogue,
    load_pack,
    read_completions,
    read_roster,
    read_waivers,
)
from peertrain.cli import main
from peertrain.errors import InputError
from peertrain.ledger import Ledger, LedgerError, Record, open_ledger
from peertrain.report.output import to_csv, to_json, to_table
from peertrain.rules import engine
from peertrain.rules.loading import bundled_pack_ids, curricula_dir, read_toml
from peertrain.rules.model import SELF_REPORTED_SOURCE, is_self_reported
from peertrain.rules.privacy import Privacy
from peertrain.rules.stream import stream_compliance
from strategies import periodic_windows, windows

CATALOGUE = load_bundled_catalogue()
BUNDLED = [load_pack(p, CATALOGUE) for p in bundled_pack_ids()]
COURSES = sorted(CATALOGUE.courses)
TOPICS = sorted({t for c in CATALOGUE.courses.values() for t in c.topics})
PROVIDERS = sorted({c.provider for c in CATALOGUE.courses.values()})

days = st.dates(min_value=dt.date(2018, 1, 1), max_value=dt.date(2028, 12, 31))
small_hours = st.integers(min_value=1, max_value=60)

filters = st.builds(
    CourseFilter,
    courses=st.frozensets(st.sampled_from(COURSES), max_size=4),
    topics=st.frozensets(st.sampled_from(TOPICS), max_size=2),
    delivery=st.frozensets(st.sampled_from(["in_person", "online"]), max_size=1),
    approved_providers_only=st.booleans(),
)


@st.composite
def leaves(draw: st.DrawFn, n: int) -> object:
    """A requirement of one of the five leaf kinds over the bundled catalogue."""
    kind = draw(st.sampled_from(["hours", "certificate", "n_of", "topics", "recurring"]))
    base = {"id": f"r{n}", "title": f"Requirement {n}", "self_reported": draw(st.booleans())}
    if kind == "hours":
        total = draw(small_hours)
        minimums = draw(st.lists(st.builds(Minimum, label=st.just("part"), hours=st.integers(1, total),
                                           counts=filters), max_size=1))
        return Hours(hours=total, counts=draw(filters), window=draw(windows), minimums=minimums, **base)
    if kind == "certificate":
        return Certificate(courses=draw(st.lists(st.sampled_from(COURSES), min_size=1, max_size=3)),
                           valid_months=draw(st.none() | st.integers(1, 48)), counts=draw(filters), **base)
    if kind == "n_of":
        listed = draw(st.lists(st.sampled_from(COURSES), min_size=1, max_size=4, unique=True))
        return NOf(n=draw(st.integers(1, len(listed))), courses=listed, counts=draw(filters),
                   window=draw(windows), **base)
    if kind == "topics":
        return Topics(topics=draw(st.frozensets(st.sampled_from(TOPICS), max_size=3)),
                      track=draw(st.none() | st.sampled_from(sorted(t.id for t in CATALOGUE.tracks))),
                      counts=draw(filters), window=draw(windows), **base)
    return Recurring(window=draw(periodic_windows), counts=draw(filters), sessions=draw(st.integers(1, 3)), **base)


@st.composite
def packs(draw: st.DrawFn) -> list[RulePack]:
    """One generated pack (leaves, all_of, any_of) and some bundled packs."""
    requirements = []
    for n in range(draw(st.integers(1, 4))):
        if draw(st.booleans()):
            requirements.append(draw(leaves(n)))
        else:
            parts = [draw(leaves(10 * n + k + 10)) for k in range(draw(st.integers(1, 3)))]
            kind = draw(st.sampled_from([AllOf, AnyOf]))
            requirements.append(kind(id=f"r{n}", title=f"Either {n}", of=parts, self_reported=draw(st.booleans())))
    generated = RulePack(
        id="gen", title="Generated", version="1", citation="tests", grace_months=draw(st.integers(0, 9)),
        approved_providers=draw(st.frozensets(st.sampled_from(PROVIDERS), max_size=4)),
        requirements=requirements,
    )
    return [generated, *draw(st.lists(st.sampled_from(BUNDLED), max_size=2, unique_by=lambda p: p.id))]


#: Member ids chosen so that the ledger's key order and member order differ for some of them.
MEMBER_IDS = ["A", "A-1", "A.b", "B", "B 2", "M-01", "M-010", "Z/1"]

members = st.builds(
    Member,
    id=st.sampled_from(MEMBER_IDS),
    name=st.just("Jane Smith"),
    roles=st.sets(st.sampled_from(["peer_supporter", "coordinator", "clinician", "chaplain"]), min_size=1),
    functions=st.sets(st.sampled_from(["prevention", "intervention", "postvention"])),
    joined_on=st.none() | days,
)
rosters = st.lists(members, max_size=5, unique_by=lambda m: m.id)

#: Whether a generated record is an approved self-reported submission (see ledger_with).
self_reported = st.booleans()

#: A record's fields after its member: course, date, hours, delivery, provider, self-reported.
record_fields = (
    st.sampled_from(COURSES),
    days,
    st.none() | st.integers(min_value=0, max_value=40),
    st.sampled_from([None, "in_person", "online"]),
    st.sampled_from([None, "ICISF", "Agency"]),
    self_reported,
)

records = st.lists(st.tuples(st.sampled_from(MEMBER_IDS), *record_fields), max_size=25)


def self_reported_origin(n: int) -> str:
    """The origin of an approved self-reported submission's record, as peertrain.submissions writes it."""
    return (f"self-reported:{n}; approved by Jordan Lee on 2026-03-02T15:00:00+00:00; evidence certificate.pdf "
            "sha256:" + "0" * 64)


@contextmanager
def ledger_with(roster: list[Member], rows: list[tuple], location: str | None = None) -> Iterator[Ledger]:
    """A fresh ledger holding ``roster`` and completed records of ``rows``: ``(member, course, date,
    hours, delivery, provider)``, and optionally a last item saying the record is an approved
    self-reported submission (then it comes in a batch of its own with a self-reported origin, as
    an approval makes it). ``location``: a new PostgreSQL database's URL instead of a file."""
    with tempfile.TemporaryDirectory() as folder:
        ledger = open_ledger(location or Path(folder) / "team.db", create_timezone="America/Chicago")
        try:
            ledger.put_members(roster)
            imported = [(i, r[:6]) for i, r in enumerate(rows) if not r[6:7] or not r[6]]
            submitted = [(i, r[:6]) for i, r in enumerate(rows) if r[6:7] and r[6]]
            ledger.import_batch(
                source="test", profile="test", file_name="t.csv", file_hash="0",
                imported_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
                rows=[
                    Record(member=m, course=c, on=on, status="completed", hours=h, delivery=d, provider=p,
                           record_id=None, origin=f"t.csv:{i}")
                    for i, (m, c, on, h, d, p) in imported
                ],
            )
            for i, (m, c, on, h, d, p) in submitted:
                ledger.import_batch(
                    source=SELF_REPORTED_SOURCE, profile=SELF_REPORTED_SOURCE, file_name="certificate.pdf",
                    file_hash=f"{i}", imported_at=dt.datetime(2026, 3, 2, 15, tzinfo=dt.UTC),
                    rows=[Record(member=m, course=c, on=on, status="completed", hours=h, delivery=d, provider=p,
                                 record_id=f"submission:{i}", origin=self_reported_origin(i))],
                )
            yield ledger
        finally:
            ledger.close()


def _streamed(ledger: Ledger, chosen: list[RulePack], as_of: dt.date, **options: object) -> tuple:
    stream = stream_compliance(ledger, chosen, as_of, catalogue=CATALOGUE, **options)  # type: ignore[arg-type]
    results = list(stream)
    verdicts = tuple(v for r in results for v in r.verdicts)
    return verdicts, tuple(r.forecast for r in results), stream


#: The ways a stream can evaluate: member by member with the engine, and on columns (one chunk, and
#: two members at a time so that the records are read in ranges).
MODES = [{"columnar": False}, {"columnar": True}, {"columnar": True, "chunk_members": 2}]


def _assert_same(ledger: Ledger, chosen: list[RulePack], as_of: dt.date, waivers: list[Waiver] = ()) -> None:
    for mode in MODES:
        _assert_same_by(ledger, chosen, as_of, waivers, **mode)


def _assert_same_by(
    ledger: Ledger, chosen: list[RulePack], as_of: dt.date, waivers: list[Waiver] = (), **mode: object
) -> None:
    expected = check_compliance(
        ledger.members(), ledger.completions(), chosen, as_of, catalogue=CATALOGUE, waivers=waivers
    )
    verdicts, forecasts, stream = _streamed(ledger, chosen, as_of, waivers=waivers, **mode)
    assert stream.columnar is mode["columnar"]
    assert verdicts == expected.verdicts
    assert forecasts == expected.forecasts
    assert stream.warnings == expected.warnings
    assert stream.counts == expected.counts()
    assert stream.compliant == expected.compliant
    assert stream.failing == sorted({v.member for v in expected.verdicts if not v.status.compliant})
    assert stream.members == len({v.member for v in expected.verdicts})


@settings(max_examples=150, deadline=None)
@given(rosters, records, packs(), days)
def test_the_stream_gives_what_check_compliance_gives(roster, rows, chosen, as_of):
    # A record's member is always on the roster, except after a hand edit; a member id with a "/"
    # off the roster is refused (test_an_unlisted_member_with_a_slash_is_refused).
    rows = [r for r in rows if "/" not in r[0] or r[0] in {m.id for m in roster}]
    with ledger_with(roster, rows) as ledger:
        _assert_same(ledger, chosen, as_of)


@settings(max_examples=300, deadline=None)
@given(members, st.lists(st.tuples(st.sampled_from(COURSES), days, st.none() | small_hours,
                                   st.sampled_from([None, "in_person", "online"]), self_reported), max_size=14),
       packs(), days)
def test_the_engine_shortcuts_give_what_the_scan_gives(member, rows, chosen, as_of):
    completions = [
        Completion(id=f"C{i}", member=member.id, course=c, completed_on=on, hours=h, delivery=d,
                   source=self_reported_origin(i) if sr else f"t.csv:{i}")
        for i, (c, on, h, d, sr) in enumerate(rows)
    ]
    assert_shortcuts_agree(member, completions, chosen, as_of)


DEMO = curricula_dir() / "demo"


def where(ledger: Ledger) -> str:
    """What ``--ledger`` names ``ledger`` by: its file, or its database's URL."""
    return str(getattr(ledger, "path", None) or ledger.url)  # type: ignore[attr-defined]


@pytest.fixture(scope="module", params=BACKENDS)
def demo_ledger(request: pytest.FixtureRequest) -> Iterator[tuple[Ledger, list[RulePack], dt.date, list[Waiver]]]:
    """The demo team's roster and completions in a ledger (ids become member/course/date), of
    each backend."""
    location = None
    if request.param == "postgresql":
        cluster = request.getfixturevalue("pg_cluster")
        location = cluster.url(cluster.create_database())
    config = read_toml(DEMO / "demo.toml")
    roster = read_roster(DEMO / config["roster"])
    completions = read_completions(DEMO / config["completions"], CATALOGUE, roster)
    rows = [
        (c.member, c.course, c.completed_on, c.hours, c.delivery.value if c.delivery else None, c.provider)
        for c in completions
    ]
    chosen = [load_pack(p, CATALOGUE) for p in config["packs"]]
    waivers = read_waivers(DEMO / config["exemptions"], roster)
    with ledger_with(roster, rows, location) as ledger:
        yield ledger, chosen, config["as_of"], waivers


@pytest.mark.parametrize("as_of", [None, dt.date(2024, 6, 30), dt.date(2027, 1, 1)])
def test_the_demo_team_streams_exactly(demo_ledger, as_of):
    ledger, chosen, demo_as_of, waivers = demo_ledger
    _assert_same(ledger, chosen, as_of or demo_as_of, waivers)
    _assert_same(ledger, BUNDLED, as_of or demo_as_of)


def test_the_demo_team_counts(demo_ledger):
    ledger, chosen, as_of, waivers = demo_ledger
    _verdicts, _forecasts, stream = _streamed(ledger, chosen, as_of, waivers=waivers)
    assert stream.members == 12
    assert stream.total == 50
    # As 'peertrain check --demo' (from the CSV files) summarises them.
    assert {s.value: n for s, n in stream.counts.items()} == {
        "met": 36, "due_soon": 4, "lapsed": 2, "not_met": 3, "grace": 3, "exempt": 2,
    }
    assert stream.failing == ["CC-01", "CC-02", "PL-03", "PL-04", "PL-05"]
    assert stream.warnings == (
        "completion PL-03/icisf-gci/2023-06-12 (icisf-gci): the record says 13 h, the catalogue 14 h; "
        "the record's hours were used",
    )


def test_a_stream_is_iterated_once(demo_ledger):
    ledger, chosen, as_of, _waivers = demo_ledger
    stream = stream_compliance(ledger, chosen, as_of, catalogue=CATALOGUE)
    list(stream)
    with pytest.raises(RuntimeError):
        list(stream)


def test_records_come_grouped_by_member_without_a_sort():
    roster = [Member(id=i, name="Jane Smith") for i in ["M-01", "M-02", "M-10"]]
    rows = [(m.id, "qpr", dt.date(2025, 1, d), None, None, None) for m in roster for d in (3, 1, 2)]
    with ledger_with(roster, rows) as ledger:
        groups = list(ledger.completions_by_member())
        plan = ledger._db.execute(  # type: ignore[attr-defined]
            "EXPLAIN QUERY PLAN SELECT member_id, id FROM records WHERE status = 'completed' ORDER BY id"
        ).fetchall()
    assert [m for m, _rows in groups] == ["M-01", "M-02", "M-10"]
    assert [r[0] for r in groups[0][1]] == [f"M-01/qpr/2025-01-0{d}" for d in (1, 2, 3)]
    assert not any("TEMP B-TREE" in row[-1] for row in plan)


@pytest.mark.parametrize("ids", [["A", "A-1", "B"], ["A", "A-1", "A/B"]])
def test_members_come_in_the_order_of_their_record_ids(ids):
    # "A-1/..." sorts before "A/..." although "A" sorts before "A-1". With "A/B" on the roster the
    # records of "A" and "A/B" would interleave in key order, so they are sorted by member.
    roster = [Member(id=i, name="Jane Smith") for i in ids]
    rows = [(m.id, c, dt.date(2025, 1, 2), None, None, None) for m in roster for c in ("qpr", "asist", "mhfa-ps")]
    with ledger_with(roster, rows) as ledger:
        groups = list(ledger.completions_by_member())
        assert [m for m, _rows in groups] == sorted(ids, key=lambda i: i + "/")
        assert all(len(rows) == 3 for _m, rows in groups)
        # and the stream hands the verdicts back in roster (id) order
        pack = RulePack(id="p", title="P", version="1", citation="c",
                        requirements=[Certificate(id="q", title="QPR", courses=["qpr"])])
        assert [r.member.id for r in stream_compliance(ledger, [pack], dt.date(2026, 1, 1), catalogue=CATALOGUE)] == ids


def test_an_unlisted_member_with_a_slash_is_refused():
    roster = [Member(id="A", name="Jane Smith")]
    # "A/r/..." falls between "A/qpr/..." and "A/team-quarterly/...".
    rows = [(m, c, dt.date(2025, 1, 2), None, None, None)
            for m, c in [("A", "qpr"), ("A", "team-quarterly"), ("A/r", "mhfa-ps")]]
    with ledger_with(roster, rows) as ledger, pytest.raises(LedgerError, match="not together"):
        list(ledger.completions_by_member())


@pytest.mark.parametrize("output_format", ["table", "json", "csv"])
@pytest.mark.parametrize("privacy", ["full", "initials"])
def test_check_ledger_writes_what_the_whole_result_renders(demo_ledger, capsys, tmp_path, output_format, privacy):
    ledger, chosen, as_of, _waivers = demo_ledger
    members = ledger.members()
    result = check_compliance(members, ledger.completions(), chosen, as_of, catalogue=CATALOGUE)
    render = {"table": lambda: to_table(result, members, chosen, privacy=Privacy(privacy)),
              "json": lambda: to_json(result, members, privacy=Privacy(privacy)),
              "csv": lambda: to_csv(result, members, privacy=Privacy(privacy))}[output_format]
    argv = ["check", "--ledger", where(ledger), "--as-of", as_of.isoformat(), "--format", output_format,
            "--privacy", privacy, "--rules", *(p.id for p in chosen)]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert captured.out == render()
    assert "the record says 13 h" in captured.err
    assert main([*argv, "-o", str(tmp_path / "out")]) == 1
    assert (tmp_path / "out").read_bytes() == render().encode()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_check_ledger_with_no_verdicts_writes_an_empty_list(capsys, tmp_path):
    with ledger_with([], []) as ledger:
        assert main(["check", "--ledger", where(ledger), "--as-of", "2026-01-01", "--format", "json",
                     "--rules", "mn-181-9731"]) == 0
    assert capsys.readouterr().out == "[]\n"


@pytest.mark.parametrize(
    ("evidence", "status"), [("PL-08/wa-cjtc-peer-40/2023-10-16", 1), ("PL-08/nope/2023-10-16", 2)]
)
def test_check_ledger_looks_exemption_evidence_up_in_the_ledger(demo_ledger, capsys, tmp_path, evidence, status):
    ledger, chosen, as_of, _waivers = demo_ledger
    exemptions = tmp_path / "exemptions.csv"
    text = (DEMO / "exemptions.csv").read_text(encoding="utf-8").replace("C-0801", evidence)
    exemptions.write_text(text, encoding="utf-8")
    for output_format in ["csv", "json", "table"]:
        argv = ["check", "--ledger", where(ledger), "--as-of", as_of.isoformat(), "--format", output_format,
                "--privacy", "none", "--exemptions", str(exemptions), "--rules", *(p.id for p in chosen)]
        assert main(argv) == status
        captured = capsys.readouterr()
        if status == 2:
            assert "'PL-08/nope/2023-10-16' is not a completion id on record" in captured.err
            assert captured.out == ""
            continue
        members = ledger.members()
        waivers = read_waivers(exemptions, members)
        result = check_compliance(members, ledger.completions(), chosen, as_of, catalogue=CATALOGUE, waivers=waivers)
        render = {"csv": to_csv(result, members, privacy=Privacy.NONE),
                  "json": to_json(result, members, privacy=Privacy.NONE),
                  "table": to_table(result, members, chosen, privacy=Privacy.NONE)}
        assert captured.out == render[output_format]
        assert "exempt" in captured.out


def test_members_must_have_different_ids(demo_ledger):
    ledger, chosen, as_of, _waivers = demo_ledger
    twice = [*ledger.members()[:1], *ledger.members()[:1]]
    with pytest.raises(ValueError, match="different ids"):
        stream_compliance(ledger, chosen, as_of, catalogue=CATALOGUE, members=twice)


def test_a_roster_in_another_order_comes_back_in_that_order(demo_ledger):
    ledger, chosen, as_of, _waivers = demo_ledger
    members = ledger.members()[::-1]
    expected = check_compliance(members, ledger.completions(), chosen, as_of, catalogue=CATALOGUE)
    stream = stream_compliance(ledger, chosen, as_of, catalogue=CATALOGUE, members=members)
    assert tuple(v for r in stream for v in r.verdicts) == expected.verdicts
    assert stream.failing == [m.id for m in members if m.id in {v.member for v in expected.verdicts
                                                                 if not v.status.compliant}]


periodic = st.builds(
    Periodic,
    st.sampled_from([1, 3, 6, 12, 36]),
    st.sampled_from([dt.date(2000, 1, 1), dt.date(2000, 7, 1), dt.date(2023, 7, 15)]),
)
periodic_requirements = st.one_of(
    st.builds(Recurring, id=st.just("p"), title=st.just("P"), window=periodic,
              counts=st.builds(CourseFilter, courses=st.frozensets(st.sampled_from(COURSES[:4]), min_size=1)),
              sessions=st.integers(1, 2), self_reported=self_reported),
    st.builds(Hours, id=st.just("p"), title=st.just("P"), window=periodic, hours=st.integers(1, 30),
              self_reported=self_reported),
)


@settings(max_examples=400, deadline=None)
@given(members, st.lists(st.tuples(st.sampled_from(COURSES[:6]), days, self_reported), max_size=16),
       periodic_requirements, st.integers(0, 12), days)
def test_periodic_shortcuts_give_what_the_scan_gives(member, rows, requirement, grace, as_of):
    completions = [
        Completion(id=f"C{i}", member=member.id, course=c, completed_on=on,
                   source=self_reported_origin(i) if sr else f"t.csv:{i}")
        for i, (c, on, sr) in enumerate(rows)
    ]
    pack = RulePack(id="p", title="P", version="1", citation="c", grace_months=grace, requirements=[requirement])
    assert_shortcuts_agree(member, completions, [pack], as_of)


@st.composite
def composites(draw: st.DrawFn) -> RulePack:
    """A pack of one all_of or any_of whose parts are leaves or periodic requirements."""
    parts = [draw(st.one_of(leaves(k), periodic_requirements.map(lambda r, k=k: evolve(r, id=f"p{k}"))))
             for k in range(draw(st.integers(1, 3)))]
    kind = draw(st.sampled_from([AllOf, AnyOf]))
    return RulePack(id="c", title="C", version="1", citation="c", grace_months=draw(st.integers(0, 9)),
                    requirements=[kind(id="c", title="C", of=parts, self_reported=draw(st.booleans()))])


@settings(max_examples=400, deadline=None)
@given(members, st.lists(st.tuples(st.sampled_from(COURSES[:8]), days, self_reported), max_size=16), composites(),
       days)
def test_composite_shortcuts_give_what_the_scan_gives(member, rows, pack, as_of):
    completions = [
        Completion(id=f"C{i}", member=member.id, course=c, completed_on=on,
                   source=self_reported_origin(i) if sr else f"t.csv:{i}")
        for i, (c, on, sr) in enumerate(rows)
    ]
    assert_shortcuts_agree(member, completions, [pack], as_of)


def assert_shortcuts_agree(member, completions, packs, as_of):
    """The engine's shortcuts give the verdicts its full scan gives (engine.SHORTCUTS off)."""
    fast = check_compliance([member], completions, packs, as_of, catalogue=CATALOGUE)
    engine.SHORTCUTS = False
    try:
        slow = check_compliance([member], completions, packs, as_of, catalogue=CATALOGUE)
    finally:
        engine.SHORTCUTS = True
    assert fast == slow


def _all_verdicts(verdicts: tuple) -> list:
    """The verdicts and, depth first, their parts'."""
    return [w for v in verdicts for w in (v, *_all_verdicts(v.parts))]


def _outcome(verdict: object) -> tuple:
    """What a verdict says about the member's standing (all but the wording of its explanation)."""
    return (verdict.key, verdict.status, verdict.as_of, verdict.due_on, verdict.lapses_on,  # type: ignore[attr-defined]
            verdict.hours_credited, verdict.hours_required, verdict.shortfall, verdict.evidence,  # type: ignore[attr-defined]
            verdict.window_start, verdict.window_end, verdict.waiver, verdict.notes)  # type: ignore[attr-defined]


@st.composite
def teams(draw: st.DrawFn) -> tuple[list[Member], list[tuple]]:
    """A roster of one to five members and some records (as ``records``), mostly of members on it."""
    roster = draw(st.lists(members, min_size=1, max_size=5, unique_by=lambda m: m.id))
    on_roster = st.sampled_from([m.id for m in roster])
    rows = draw(st.lists(
        st.tuples(on_roster | st.sampled_from(MEMBER_IDS), *record_fields),
        min_size=1, max_size=25,
    ))
    return roster, rows


#: A self-reported QPR certificate that a requirement refusing self-reported credit must not count
#: (random packs reach a self-reported record one of their requirements counts in only a few
#: examples in a hundred, so this one is always tried).
@example(
    team=([Member(id="A", name="Jane Smith")],
          [("A", "qpr", dt.date(2025, 1, 2), None, None, None, True),
           ("A", "qpr", dt.date(2020, 1, 2), None, None, None, False)]),
    chosen=[RulePack(id="p", title="P", version="1", citation="c",
                     requirements=[AnyOf(id="q", title="Q", of=[Certificate(id="c", title="C", courses=["qpr"])])])],
    as_of=dt.date(2025, 6, 1),
)
@settings(max_examples=200, deadline=None)
@given(teams(), packs(), days | st.just(dt.date(2028, 12, 31)))
def test_refusing_self_reported_credit_is_leaving_it_out(team, chosen, as_of):
    """For any roster, completions (some of them approved self-reported submissions), packs and
    as-of date: with every requirement of every pack set to ``self_reported = false`` (an all_of /
    any_of hands that on to its parts), the verdicts are exactly those of the packs as they are
    over the completions with the self-reported ones removed. Every verdict, part verdicts
    included, has the same status, due and lapse dates, hours credited and required, shortfall,
    evidence, window, waiver and notes, and the same explanation; the forecasts are the same. Only
    the data warnings may differ (a self-reported record is still read, so its hours are still
    checked against the catalogue)."""
    roster, rows = team
    completions = [
        Completion(id=f"C{i}", member=m, course=c, completed_on=on, hours=h, delivery=d, provider=p,
                   source=self_reported_origin(i) if sr else f"t.csv:{i}")
        for i, (m, c, on, h, d, p, sr) in enumerate(rows)
    ]
    refusing = [evolve(p, requirements=[evolve(r, self_reported=False) for r in p.requirements]) for p in chosen]
    without = [c for c in completions if not is_self_reported(c.source)]
    refused = check_compliance(roster, completions, refusing, as_of, catalogue=CATALOGUE)
    left_out = check_compliance(roster, without, chosen, as_of, catalogue=CATALOGUE)
    submitted = {c.id for c in completions if is_self_reported(c.source)}
    assert len(submitted) + len(without) == len(completions)
    assert all(not r.self_reported for p in refusing for r in p.requirements)
    assert not any(submitted & set(v.evidence) for v in _all_verdicts(refused.verdicts))
    assert [_outcome(v) for v in _all_verdicts(refused.verdicts)] == [
        _outcome(v) for v in _all_verdicts(left_out.verdicts)
    ]
    assert refused.verdicts == left_out.verdicts
    assert refused.forecasts == left_out.forecasts
    assert set(left_out.warnings) <= set(refused.warnings)


@pytest.mark.parametrize("mode", MODES[::2], ids=["engine", "columnar-chunks"])
def test_an_unknown_course_in_a_later_chunk_stops_the_stream_after_the_members_before_it(tmp_path, mode):
    """An error in a later chunk of the columnar path (a record of a course the catalogue does not
    know) comes as the engine's typed InputError, naming the record, once the members of the
    chunks before it have been handed over, as the engine gives it; and a stream left part way
    through closes."""
    pack_file = tmp_path / "pack.toml"
    pack_file.write_text(
        '[pack]\nid = "p"\ntitle = "P"\nversion = "1"\ncitation = "c"\n\n'
        '[[requirements]]\nid = "qpr"\nkind = "certificate"\ntitle = "QPR"\ncourses = ["qpr"]\n',
        encoding="utf-8",
    )
    pack = load_pack(pack_file, CATALOGUE)
    roster = [Member(id=m, name=f"Officer {m}") for m in ("A", "B", "C", "D")]
    rows = [(m, "qpr" if m != "C" else "no-such-course", dt.date(2025, 1, 2), None, None, None) for m in "ABCD"]
    options = {**mode, "chunk_members": 1} if mode["columnar"] else mode
    with ledger_with(roster, rows) as ledger:
        handed = []

        def read_all() -> None:
            for result in stream_compliance(ledger, [pack], dt.date(2025, 6, 30), catalogue=CATALOGUE, **options):
                handed.append((result.member.id, [v.status.value for v in result.verdicts]))

        with pytest.raises(InputError, match=r"completion 'C/no-such-course/2025-01-02': unknown course"):
            read_all()
        assert handed == [("A", ["met"]), ("B", ["met"])]
        left = iter(stream_compliance(ledger, [pack], dt.date(2025, 6, 30), catalogue=CATALOGUE, **options))
        assert next(left).member.id == "A"
        left.close()

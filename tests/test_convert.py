"""The converter: every public type to JSON and back, and strict structuring with located errors."""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from decimal import Decimal
from typing import Any

import cattrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import strategies as sts
from peertrain import (
    AllOf,
    AllTime,
    AnyOf,
    AnySpan,
    Catalogue,
    Certificate,
    Completion,
    ComplianceResult,
    Course,
    Delivery,
    Forecast,
    Hours,
    Member,
    Minimum,
    MinimumShortfall,
    NOf,
    Periodic,
    Recurring,
    Requirement,
    Role,
    Rolling,
    RulePack,
    Shortfall,
    Status,
    Topics,
    Track,
    Verdict,
    Waiver,
    Window,
    converter,
    load_bundled_catalogue,
    load_pack,
    make_converter,
)
from peertrain.rules.convert import REQUIREMENT_KINDS, WINDOW_KINDS, dumps, error_messages, loads


def json_round_trip(value: Any, cls: Any) -> Any:
    """unstructure -> JSON text -> parse -> structure."""
    text = json.dumps(converter.unstructure(value, cls))
    return converter.structure(json.loads(text), cls)


def problems(data: Any, cls: Any) -> list[tuple[str, str]]:
    """The (path, message) pairs structuring ``data`` as ``cls`` fails with."""
    with pytest.raises(cattrs.BaseValidationError) as info:
        converter.structure(data, cls)
    return error_messages(info.value)


# -- round trips ----------------------------------------------------------------------------------

ROUND_TRIPS = [
    pytest.param(sts.members, Member, id="Member"),
    pytest.param(sts.courses, Course, id="Course"),
    pytest.param(sts.completions, Completion, id="Completion"),
    pytest.param(sts.waivers(), Waiver, id="Waiver"),
    pytest.param(sts.tracks, Track, id="Track"),
    pytest.param(sts.catalogues(), Catalogue, id="Catalogue"),
    pytest.param(sts.windows, Window, id="Window"),
    pytest.param(sts.requirements, Requirement, id="Requirement"),
    pytest.param(sts.rule_packs, RulePack, id="RulePack"),
    pytest.param(sts.minimum_shortfalls, MinimumShortfall, id="MinimumShortfall"),
    pytest.param(sts.shortfalls, Shortfall, id="Shortfall"),
    pytest.param(sts.verdicts, Verdict, id="Verdict"),
    pytest.param(sts.forecasts, Forecast, id="Forecast"),
    pytest.param(sts.compliance_results, ComplianceResult, id="ComplianceResult"),
]


@pytest.mark.parametrize(("strategy", "cls"), ROUND_TRIPS)
@given(data=st.data())
def test_json_round_trip(strategy: st.SearchStrategy, cls: type, data: st.DataObject) -> None:
    """Every public type survives unstructure -> json.dumps -> json.loads -> structure unchanged."""
    value = data.draw(strategy)
    assert json_round_trip(value, cls) == value


@pytest.mark.parametrize(
    ("strategy", "cls"),
    [
        pytest.param(sts.hours_requirements(), Hours, id="hours"),
        pytest.param(sts.n_of_requirements(), NOf, id="n_of"),
        pytest.param(sts.topics_requirements(), Topics, id="topics"),
        pytest.param(sts.certificate_requirements(), Certificate, id="certificate"),
        pytest.param(sts.recurring_requirements(), Recurring, id="recurring"),
        pytest.param(sts.all_of_requirements, AllOf, id="all_of"),
        pytest.param(sts.any_of_requirements, AnyOf, id="any_of"),
    ],
)
@given(data=st.data())
def test_requirement_kind_round_trip(strategy: st.SearchStrategy, cls: type, data: st.DataObject) -> None:
    """Each requirement kind round-trips both as its own class and as the Requirement union, and
    its JSON carries the kind tag of its class."""
    value = data.draw(strategy)
    tag = {v: k for k, v in REQUIREMENT_KINDS.items()}[cls]
    assert converter.unstructure(value, Requirement)["kind"] == tag
    assert json_round_trip(value, cls) == value
    structured = json_round_trip(value, Requirement)
    assert structured == value
    assert type(structured) is cls


#: The keys whose values a pack file writes as TOML dates rather than text.
_TOML_DATES = frozenset({"read_on", "anchor"})


def _toml(value: Any, key: str = "") -> str:
    """``value`` (unstructured: dicts, lists, text, numbers, booleans) as a TOML value, tables
    inline; a ``None`` in a table is left out, as a pack file leaves an unset key out."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        if key in _TOML_DATES and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return value
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are TOML's for what names may hold
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v, k)}" for k, v in value.items() if v is not None) + "}"


def toml_round_trip(pack: RulePack) -> RulePack:
    """unstructure -> a TOML document -> parse as the loader does (decimals exact) -> structure."""
    data = converter.unstructure(pack, RulePack)
    text = "".join(f"{json.dumps(k)} = {_toml(v, k)}\n" for k, v in data.items() if v is not None)
    return converter.structure(tomllib.loads(text, parse_float=Decimal), RulePack)


@given(sts.rule_packs)
def test_toml_round_trip(pack: RulePack) -> None:
    """A rule pack survives being written as TOML and read back (self_reported = false, on a
    requirement or handed down by an all_of / any_of to its parts, included)."""
    assert toml_round_trip(pack) == pack


def test_self_reported_false_round_trips() -> None:
    """``self_reported = false`` on a composite reaches its parts, and comes back the same from JSON and TOML."""
    part = Hours(id="h", title="H", hours=8)
    pack = RulePack(id="p", title="P", version="1", citation="c",
                    requirements=[AnyOf(id="a", title="A", self_reported=False, of=[part])])
    (any_of,) = pack.requirements
    assert any_of.of[0].self_reported is False  # type: ignore[union-attr]
    assert converter.unstructure(pack, RulePack)["requirements"][0]["of"][0]["self_reported"] is False
    assert json_round_trip(pack, RulePack) == pack
    assert toml_round_trip(pack) == pack


@given(sts.windows)
def test_window_kind_tags(window: Window) -> None:
    """A window's JSON names its class in ``kind`` and structures back to that class."""
    data = converter.unstructure(window, Window)
    assert WINDOW_KINDS[data["kind"]] is type(window)
    assert type(converter.structure(data, Window)) is type(window)


@given(sts.verdicts)
def test_verdict_status_structures_to_the_enum(verdict: Verdict) -> None:
    """A structured verdict's status (and its parts') is a Status, not bare text, so
    ``.compliant`` works on verdicts read back from JSON."""
    back = json_round_trip(verdict, Verdict)
    stack = [back]
    while stack:
        current = stack.pop()
        assert type(current.status) is Status
        assert current.status.compliant is (current.status not in (Status.LAPSED, Status.NOT_MET))
        stack.extend(current.parts)


def test_enums_unstructure_to_plain_text() -> None:
    """Enums become their plain string values (not enum objects) and sets become sorted lists."""
    member = Member("A-1", "Ann Bee", roles=["coordinator", "chaplain"], functions=["prevention"])
    data = converter.unstructure(member)
    assert data["roles"] == ["chaplain", "coordinator"]
    assert all(type(role) is str for role in data["roles"])
    course = converter.unstructure(Course(id="c", title="C", provider="P", delivery="online"))
    assert course["delivery"] == "online"
    assert type(course["delivery"]) is str


def test_unstructured_shapes() -> None:
    """Dates are ISO strings, whole hours JSON integers, fractional hours floats, and the
    requirement's window carries its kind tag."""
    req = Hours(
        id="h", title="Hours", hours="12.5", window=Periodic(3, dt.date(2024, 7, 1)),
        minimums=[Minimum(label="in person", hours=4)],
    )
    data = converter.unstructure(req, Requirement)
    assert data["kind"] == "hours"
    assert data["hours"] == 12.5
    assert data["window"] == {"kind": "periodic", "months": 3, "anchor": "2024-07-01"}
    assert data["minimums"][0]["hours"] == 4
    assert type(data["minimums"][0]["hours"]) is int
    assert converter.unstructure(Rolling(12), Window) == {"kind": "rolling", "months": 12}
    assert converter.unstructure(AllTime(), Window) == {"kind": "all_time"}
    assert converter.unstructure(AnySpan(6), Window) == {"kind": "any_span", "months": 6}


def test_dumps_and_loads() -> None:
    """``dumps``/``loads`` are the JSON text forms of the same round trip."""
    completion = Completion(
        id="C-1", member="A", course="qpr", completed_on=dt.date(2024, 2, 29), hours="1.5",
        delivery=Delivery.ONLINE,
    )
    text = dumps(completion)
    assert json.loads(text)["completed_on"] == "2024-02-29"
    assert json.loads(text)["hours"] == 1.5
    assert loads(text, Completion) == completion


def test_make_converter_is_independent() -> None:
    """``make_converter`` gives a new converter that behaves like the shared one."""
    other = make_converter()
    assert other is not converter
    rule = Rolling(24)
    assert other.unstructure(rule, Window) == converter.unstructure(rule, Window)


def test_bundled_catalogue_round_trips() -> None:
    """The whole bundled catalogue survives a JSON round trip, names lookups included."""
    catalogue = load_bundled_catalogue()
    back = json_round_trip(catalogue, Catalogue)
    assert back == catalogue
    assert back.find("  group CRISIS intervention ") == catalogue.course("icisf-gci")


@pytest.mark.parametrize("pack_id", ["example-agency", "mn-181-9731", "mn-post-license"])
def test_bundled_pack_round_trips(pack_id: str) -> None:
    """Bundled packs (nested any_of/all_of, minimums, periodic anchors) survive a JSON round trip."""
    pack = load_pack(pack_id, load_bundled_catalogue())
    assert json_round_trip(pack, RulePack) == pack


def test_hours_stay_exact_through_json() -> None:
    """1.4 CEU worth of hours (14) and 0.1 + 0.2 style fractions come back as the same Decimal."""
    course = Course(id="c", title="C", provider="P", hours=Decimal("0.3"))
    assert json_round_trip(course, Course).hours == Decimal("0.3")
    verdict = Verdict(
        member="m", pack="p", requirement="r", title="t", status=Status.MET, as_of=dt.date(2026, 1, 1),
        explanation="e", citation="c", hours_credited=Decimal("28"), hours_required=Decimal("27.5"),
    )
    back = json_round_trip(verdict, Verdict)
    assert back.hours_credited == Decimal("28")
    assert back.hours_required == Decimal("27.5")


# -- structuring errors name the path -------------------------------------------------------------


def test_unknown_key_is_an_error() -> None:
    """A key the type does not have is rejected and named."""
    assert problems({"id": "a", "name": "b", "colour": "red"}, Member) == [("", "unknown key(s): colour")]


def test_unknown_key_in_a_nested_requirement() -> None:
    """An unknown key deep in a pack names the requirement's path."""
    data = {
        "id": "p", "title": "P", "version": "1", "citation": "C",
        "requirements": [
            {"kind": "all_of", "id": "a", "title": "A",
             "of": [{"kind": "hours", "id": "b", "title": "B", "hours": 4, "hourz": 5}]},
        ],
    }
    assert problems(data, RulePack) == [("requirements[0].of[0]", "unknown key(s): hourz")]


@pytest.mark.parametrize(
    ("data", "cls", "expected"),
    [
        pytest.param(
            {"id": "a", "title": "b", "provider": "p", "hours": "lots"}, Course,
            [("hours", "expected a number, got 'lots'")], id="text-for-hours",
        ),
        pytest.param(
            {"id": "a", "title": "b", "provider": "p", "hours": True}, Course,
            [("hours", "expected a number, got True")], id="bool-for-hours",
        ),
        pytest.param(
            {"id": "a", "title": "b", "provider": "p", "validity_months": "36"}, Course,
            [("validity_months", "expected a whole number, got '36'")], id="text-for-months",
        ),
        pytest.param(
            {"kind": "rolling", "months": 1.5}, Rolling,
            [("months", "expected a whole number, got 1.5")], id="float-for-months",
        ),
        pytest.param(
            {"id": 7, "name": "b"}, Member, [("id", "expected text, got 7")], id="number-for-text",
        ),
        pytest.param(
            {"id": "a", "name": "b", "joined_on": "2024-02-30"}, Member,
            [("joined_on", "expected a date as YYYY-MM-DD, got '2024-02-30'")], id="bad-date",
        ),
        pytest.param(
            {"member": "m", "as_of": "2024-01-01T10:00:00", "lapses_on": None}, Forecast,
            [("as_of", "expected a date as YYYY-MM-DD, got '2024-01-01T10:00:00'")], id="date-time",
        ),
        pytest.param(
            {"kind": "hours", "id": "a", "title": "t"}, Requirement,
            [("hours", "required key missing")], id="missing-key",
        ),
        pytest.param(
            {"id": "a", "name": "b", "roles": ["sheriff"]}, Member,
            [("roles[0]", "'sheriff' is not a valid Role")], id="bad-enum-in-set",
        ),
    ],
)
def test_structuring_errors_name_the_path(data: Any, cls: Any, expected: list[tuple[str, str]]) -> None:
    """Wrong types, bad dates, missing keys and bad enum values are errors at the named path."""
    assert problems(data, cls) == expected


def test_unknown_requirement_kind_is_named_with_its_index() -> None:
    """An unknown ``kind`` in a list of requirements names the index and the known kinds."""
    data = [{"kind": "hours", "id": "a", "title": "t", "hours": 4}, {"kind": "vibes", "id": "b"}]
    assert problems(data, list[Requirement]) == [
        ("[1]", "unknown requirement kind 'vibes'; expected one of: hours, topics, certificate, n_of, "
                "recurring, all_of, any_of"),
    ]


def test_unknown_window_kind_is_named() -> None:
    """An unknown window ``kind`` inside a requirement names ``window`` and the known kinds."""
    data = {"kind": "hours", "id": "a", "title": "t", "hours": 4, "window": {"kind": "weekly", "months": 1}}
    assert problems(data, Requirement) == [
        ("window", "unknown window kind 'weekly'; expected one of: all_time, rolling, any_span, periodic"),
    ]


def test_missing_kind_is_an_error() -> None:
    """A requirement table without ``kind`` is rejected (structuring cannot guess the class)."""
    with pytest.raises(ValueError, match=r"^unknown requirement kind None; expected one of: hours, "):
        converter.structure({"id": "a", "title": "t", "hours": 4}, Requirement)


def test_kind_must_match_the_class() -> None:
    """Structuring as a specific class with another class's ``kind`` is an error."""
    with pytest.raises(cattrs.BaseValidationError) as info:
        converter.structure([{"kind": "topics", "id": "a", "title": "t", "hours": 4}], list[Hours])
    assert error_messages(info.value) == [("[0]", "kind 'topics' does not match 'hours'")]


def test_validator_errors_surface_with_the_class_path() -> None:
    """A value the class's own validator rejects (negative hours) is named under its owner."""
    data = {"id": "p", "title": "P", "version": "1", "citation": "C",
            "requirements": [{"kind": "hours", "id": "a", "title": "t", "hours": -4}]}
    assert problems(data, RulePack) == [("requirements[0]", "hours must not be negative, got -4")]


def test_verdict_unknown_status_is_an_error() -> None:
    """A verdict whose status is not a Status value is rejected, naming ``status``."""
    data = {"member": "m", "pack": "p", "requirement": "r", "title": "t", "status": "great",
            "as_of": "2024-01-01", "explanation": "e", "citation": "c"}
    assert problems(data, Verdict) == [("status", "'great' is not a valid Status")]


def test_nested_verdict_part_errors_name_the_part() -> None:
    """An error in a part verdict names ``parts[i]`` and the field."""
    part = {"member": "m", "pack": "p", "requirement": "r2", "title": "t", "status": "met",
            "as_of": "someday", "explanation": "e", "citation": "c"}
    data = {**part, "requirement": "r1", "as_of": "2024-01-01", "parts": [part]}
    assert problems(data, Verdict) == [("parts[0].as_of", "expected a date as YYYY-MM-DD, got 'someday'")]


def test_catalogue_structuring_is_strict() -> None:
    """A catalogue with an unknown top-level key, or a course with one, is rejected and named."""
    assert problems({"courses": [], "trackz": []}, Catalogue) == [("", "unknown key(s): trackz")]
    course = {"id": "a", "title": "A", "provider": "P", "colour": "red"}
    assert problems({"courses": [course]}, Catalogue) == [("courses[0]", "unknown key(s): colour")]
    assert converter.structure({}, Catalogue) == Catalogue([], [])


def test_dates_reject_date_times() -> None:
    """A datetime object where a date belongs (e.g. from TOML) is an error, not truncated."""
    assert problems(
        {"id": "a", "name": "b", "joined_on": dt.datetime(2024, 1, 1, 9, 30)}, Member
    ) == [
        ("joined_on", "expected a date (YYYY-MM-DD), got the date-time datetime.datetime(2024, 1, 1, 9, 30)")
    ]


def test_role_default_survives() -> None:
    """A member without roles structures with the default role, peer supporter."""
    member = converter.structure({"id": "a", "name": "b"}, Member)
    assert member.roles == frozenset({Role.PEER_SUPPORTER})

"""Hypothesis strategies for every public peertrain type, collected in one place.

Each strategy builds only valid values (the attrs validators would reject anything else), so a
test can feed them straight to the converter, the CSV readers or the engine.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from peertrain import (
    AllOf,
    AllTime,
    AnyOf,
    AnySpan,
    Applicability,
    Catalogue,
    Certificate,
    Completion,
    ComplianceResult,
    Course,
    CourseFilter,
    Delivery,
    Forecast,
    Function,
    Hours,
    Member,
    Minimum,
    MinimumShortfall,
    NOf,
    Periodic,
    Recurring,
    Role,
    Rolling,
    RulePack,
    Shortfall,
    Status,
    Topics,
    Track,
    Verdict,
    Waiver,
    WaiverKind,
)

# -- building blocks ------------------------------------------------------------------------------

#: Any text without surrogates (which no file encoding can hold) and without control characters
#: (C0, DEL, C1: refused in names and text fields, which must not break the lines of a calendar).
any_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)

#: Non-blank text without surrounding white space: what names and ids must be.
names = any_text.map(str.strip).filter(bool)

#: Short identifiers as agencies and catalogues write them.
ids = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,11}", fullmatch=True)

dates = st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2060, 12, 31))

#: Hours as records and catalogues give them: exact decimals with up to two places.
hours = st.decimals(min_value=0, max_value=2000, places=2, allow_nan=False, allow_infinity=False)
positive_hours = hours.filter(lambda h: h > 0)

months = st.integers(min_value=1, max_value=120)


def frozensets_of(elements: st.SearchStrategy, max_size: int = 4) -> st.SearchStrategy:
    """Frozen sets of up to ``max_size`` elements."""
    return st.frozensets(elements, max_size=max_size)


emails = st.builds(
    lambda local, domain: f"{local}@{domain}.example".lower(),
    st.from_regex(r"[a-z0-9][a-z0-9._]{0,10}", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
)

# -- records --------------------------------------------------------------------------------------

members = st.builds(
    Member,
    id=names,
    name=names,
    agency=any_text.map(str.strip),
    roles=frozensets_of(st.sampled_from(Role)),
    functions=frozensets_of(st.sampled_from(Function)),
    joined_on=st.none() | dates,
    email=st.none() | emails,
    portal_user_id=st.none() | names,
)

courses = st.builds(
    Course,
    id=names,
    title=names,
    provider=names,
    hours=st.none() | hours,
    delivery=st.sampled_from(Delivery),
    functions=frozensets_of(st.sampled_from(Function)),
    topics=frozensets_of(names),
    aliases=st.lists(names, max_size=3).map(tuple),
    validity_months=st.none() | months,
    note=st.none() | any_text,
)

#: The origin of an approved self-reported submission's record, as :mod:`peertrain.submissions`
#: writes it (``self-reported:<id>; approved by ...``), which :func:`peertrain.rules.model.is_self_reported` recognises.
self_reported_origins = st.builds(
    lambda submission, rest: f"self-reported:{submission}; approved by {rest}",
    st.integers(min_value=1, max_value=10**6),
    any_text,
)

#: A completion's source: mostly whatever an import or pull wrote, sometimes a self-reported origin.
completion_sources = st.one_of(any_text, self_reported_origins)

completions = st.builds(
    Completion,
    id=names,
    member=names,
    course=names,
    completed_on=dates,
    hours=st.none() | hours,
    delivery=st.none() | st.sampled_from(Delivery),
    provider=st.none() | names,
    source=completion_sources,
)


@st.composite
def waivers(draw: st.DrawFn) -> Waiver:
    """A waiver, open-ended or valid until a day on or after it was granted."""
    granted_on = draw(dates)
    valid_until = draw(st.none() | st.dates(min_value=granted_on, max_value=dt.date(2070, 1, 1)))
    return Waiver(
        member=draw(names),
        pack=draw(names),
        requirement=draw(names),
        kind=draw(st.sampled_from(WaiverKind)),
        granted_by=draw(names),
        granted_on=granted_on,
        reason=draw(names),
        valid_until=valid_until,
        evidence=tuple(draw(st.lists(names, max_size=3))),
    )


# -- windows --------------------------------------------------------------------------------------

periodic_windows = st.builds(
    Periodic,
    months=months,
    anchor=st.dates(min_value=dt.date(1990, 1, 1), max_value=dt.date(2040, 12, 31)).map(
        lambda d: d.replace(day=min(d.day, 28))
    ),
)

windows = st.one_of(
    st.just(AllTime()),
    st.builds(Rolling, months=months),
    st.builds(AnySpan, months=months),
    periodic_windows,
)

# -- requirements ---------------------------------------------------------------------------------

course_filters = st.builds(
    CourseFilter,
    courses=frozensets_of(ids),
    topics=frozensets_of(ids),
    functions=frozensets_of(st.sampled_from(Function)),
    providers=frozensets_of(names),
    delivery=frozensets_of(st.sampled_from(Delivery)),
    approved_providers_only=st.booleans(),
)

applicabilities = st.builds(
    Applicability,
    roles=frozensets_of(st.sampled_from(Role)),
    functions=frozensets_of(st.sampled_from(Function)),
)

graces = st.none() | st.integers(min_value=0, max_value=36)


def _base(grace: st.SearchStrategy) -> dict[str, st.SearchStrategy]:
    return {
        "id": ids,
        "title": names,
        "applies_to": applicabilities,
        "grace_months": grace,
        "citation": st.none() | names,
        "note": st.none() | any_text,
        "self_reported": st.booleans(),
    }


@st.composite
def hours_requirements(draw: st.DrawFn, grace: st.SearchStrategy = graces) -> Hours:
    """An ``hours`` requirement whose minimums fit within its total."""
    total = draw(positive_hours)
    minimums = draw(
        st.lists(
            st.builds(
                Minimum,
                label=names,
                hours=st.decimals(min_value=0, max_value=total, places=2, allow_nan=False),
                counts=course_filters,
            ),
            max_size=3,
        )
    )
    return draw(
        st.builds(
            Hours, hours=st.just(total), counts=course_filters, window=windows,
            minimums=st.just(tuple(minimums)), **_base(grace),
        )
    )


@st.composite
def n_of_requirements(draw: st.DrawFn, grace: st.SearchStrategy = graces) -> NOf:
    """An ``n_of`` requirement listing at least ``n`` different courses."""
    listed = draw(st.lists(ids, min_size=1, max_size=5, unique=True))
    n = draw(st.integers(min_value=1, max_value=len(listed)))
    return draw(
        st.builds(
            NOf, n=st.just(n), courses=st.just(tuple(listed)), counts=course_filters, window=windows,
            **_base(grace),
        )
    )


def topics_requirements(grace: st.SearchStrategy = graces) -> st.SearchStrategy:
    """A ``topics`` requirement (listing topics, naming a track, or both)."""
    return st.builds(
        Topics, topics=frozensets_of(ids), track=st.none() | ids, counts=course_filters,
        window=windows, **_base(grace),
    )


def certificate_requirements(grace: st.SearchStrategy = graces) -> st.SearchStrategy:
    """A ``certificate`` requirement over one to three courses."""
    return st.builds(
        Certificate,
        courses=st.lists(ids, min_size=1, max_size=3).map(tuple),
        valid_months=st.none() | months,
        counts=course_filters,
        **_base(grace),
    )


def recurring_requirements(grace: st.SearchStrategy = graces) -> st.SearchStrategy:
    """A ``recurring`` requirement (always over a periodic window)."""
    return st.builds(
        Recurring, window=periodic_windows, counts=course_filters,
        sessions=st.integers(min_value=1, max_value=6), **_base(grace),
    )


def leaf_requirements(grace: st.SearchStrategy = graces) -> st.SearchStrategy:
    """Any requirement that is not a combination of others."""
    return st.one_of(
        hours_requirements(grace),
        topics_requirements(grace),
        certificate_requirements(grace),
        n_of_requirements(grace),
        recurring_requirements(grace),
    )


def _of(parts: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(parts, min_size=1, max_size=3, unique_by=lambda r: r.id).map(tuple)


def _combine(parts: st.SearchStrategy, grace: st.SearchStrategy) -> st.SearchStrategy:
    return st.builds(AllOf, of=_of(parts), **_base(grace)) | st.builds(AnyOf, of=_of(parts), **_base(grace))


#: A requirement that can be a part of ``all_of`` / ``any_of`` (parts never set grace).
parts = st.recursive(
    leaf_requirements(st.none()), lambda children: _combine(children, st.none()), max_leaves=6
)

#: A top-level ``all_of`` requirement, its parts possibly nested.
all_of_requirements = st.builds(AllOf, of=_of(parts), **_base(graces))

#: A top-level ``any_of`` requirement, its parts possibly nested.
any_of_requirements = st.builds(AnyOf, of=_of(parts), **_base(graces))

#: Any top-level requirement, nested ``all_of`` / ``any_of`` included.
requirements = leaf_requirements() | all_of_requirements | any_of_requirements

rule_packs = st.builds(
    RulePack,
    id=ids,
    title=names,
    version=names,
    citation=names,
    source=st.none() | any_text,
    read_on=st.none() | dates,
    note=st.none() | any_text,
    approved_providers=frozensets_of(names),
    grace_months=st.integers(min_value=0, max_value=24),
    requirements=st.lists(requirements, min_size=1, max_size=4, unique_by=lambda r: r.id).map(tuple),
)

# -- catalogue ------------------------------------------------------------------------------------

tracks = st.builds(
    Track,
    id=ids,
    title=any_text,
    function=st.sampled_from(Function),
    topics=frozensets_of(ids),
    courses=st.lists(ids, max_size=4).map(tuple),
    source=st.none() | any_text,
    note=st.none() | any_text,
)


@st.composite
def catalogues(draw: st.DrawFn) -> Catalogue:
    """A catalogue whose course ids, titles and aliases each name one course (numbered apart)."""
    drawn = draw(st.lists(courses, max_size=5))
    numbered = [
        Course(
            id=f"{i}-{c.id}",
            title=f"title {i} {c.title}",
            provider=c.provider,
            hours=c.hours,
            delivery=c.delivery,
            functions=c.functions,
            topics=c.topics,
            aliases=tuple(f"alias {i}.{j} {a}" for j, a in enumerate(c.aliases)),
            validity_months=c.validity_months,
            note=c.note,
        )
        for i, c in enumerate(drawn)
    ]
    return Catalogue(numbered, draw(st.lists(tracks, max_size=3)))


# -- verdicts -------------------------------------------------------------------------------------

signed_hours = st.none() | st.decimals(
    min_value=-500, max_value=500, places=2, allow_nan=False, allow_infinity=False
)

minimum_shortfalls = st.builds(MinimumShortfall, label=any_text, hours=hours)

shortfalls = st.builds(
    Shortfall,
    hours=st.none() | hours,
    minimums=st.lists(minimum_shortfalls, max_size=2).map(tuple),
    count=st.none() | st.integers(min_value=0, max_value=10),
    courses=st.lists(ids, max_size=3).map(tuple),
    topics=st.lists(ids, max_size=3).map(tuple),
)


def _verdict(parts: st.SearchStrategy) -> st.SearchStrategy:
    return st.builds(
        Verdict,
        member=names,
        pack=ids,
        requirement=ids,
        title=any_text,
        status=st.sampled_from(Status),
        as_of=dates,
        explanation=any_text,
        citation=any_text,
        hours_credited=signed_hours,
        hours_required=signed_hours,
        shortfall=shortfalls,
        due_on=st.none() | dates,
        lapses_on=st.none() | dates,
        evidence=st.lists(names, max_size=3).map(tuple),
        window_start=st.none() | dates,
        window_end=st.none() | dates,
        waiver=st.none() | waivers(),
        notes=st.lists(any_text, max_size=2).map(tuple),
        parts=parts,
    )


#: A verdict, with nested part verdicts (as ``all_of`` / ``any_of`` give).
verdicts = st.recursive(
    _verdict(st.just(())),
    lambda children: _verdict(st.lists(children, min_size=1, max_size=3).map(tuple)),
    max_leaves=5,
)

forecasts = st.builds(
    Forecast,
    member=names,
    as_of=dates,
    lapses_on=st.none() | dates,
    requirements=st.lists(ids, max_size=3).map(tuple),
)

compliance_results = st.builds(
    ComplianceResult,
    as_of=dates,
    verdicts=st.lists(verdicts, max_size=3).map(tuple),
    forecasts=st.lists(forecasts, max_size=3).map(tuple),
    warnings=st.lists(any_text, max_size=2).map(tuple),
)

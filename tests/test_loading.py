"""Reading the bundled curricula and user-supplied catalogue and rule pack TOML files.

Every problem must be a :class:`~peertrain.CatalogError` naming the file and the key (as a dotted
path into the TOML, with list indexes as written in the file).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from peertrain import (
    AllOf,
    AnyOf,
    CatalogError,
    Catalogue,
    Certificate,
    Delivery,
    Function,
    Hours,
    NOf,
    Periodic,
    Recurring,
    Rolling,
    Topics,
    bundled_pack_ids,
    load_bundled_catalogue,
    load_catalogue,
    load_pack,
)
from peertrain.rules.loading import curricula_dir, read_toml, resolve_pack

DATA = Path(__file__).parent / "data"
PACKS = DATA / "packs"
CATALOGUES = DATA / "catalogues"

BUNDLED_PACKS = [
    "example-agency",
    "icisf-cost",
    "mn-181-9731",
    "mn-post-license",
    "ut-post",
    "wa-rcw-43-101-515",
]


def bundled_files() -> list[Path]:
    """The bundled catalogue's files, in the order load_bundled_catalogue reads them."""
    return [curricula_dir() / "courses.toml", curricula_dir() / "tracks.toml"]


# -- the bundled data -----------------------------------------------------------------------------


def test_bundled_data_is_installed() -> None:
    """The installed package finds its curricula: catalogue, tracks, packs and the demo."""
    root = curricula_dir()
    for name in ("courses.toml", "tracks.toml", "demo/demo.toml", "demo/roster.csv", "demo/completions.csv"):
        assert (root / name).is_file(), name


def test_bundled_pack_ids() -> None:
    """``bundled_pack_ids`` lists exactly the packs that ship, sorted."""
    assert bundled_pack_ids() == BUNDLED_PACKS


@pytest.mark.parametrize("pack_id", BUNDLED_PACKS)
def test_every_bundled_pack_loads(pack_id: str, catalogue: Catalogue) -> None:
    """Each bundled pack loads against the bundled catalogue, with its id matching its file name,
    at least one requirement, and every course it names in the catalogue."""
    pack = load_pack(pack_id, catalogue)
    assert pack.id == pack_id
    assert pack.requirements
    assert resolve_pack(pack_id) == curricula_dir() / "packs" / f"{pack_id}.toml"


def test_bundled_catalogue_contents(catalogue: Catalogue) -> None:
    """Spot checks of the bundled catalogue: hours are exact, delivery and validity are read, and
    the three IACP/COPS function tracks are there."""
    gci = catalogue.course("icisf-gci")
    assert gci.hours == Decimal(14)
    assert gci.delivery is Delivery.IN_PERSON
    assert gci.functions == frozenset({Function.POSTVENTION})
    assert catalogue.course("mhfa-ps").validity_months == 36
    assert catalogue.course("cop2cop-rps").hours is None
    assert str(catalogue.course("cit-40").hours) == "40"
    assert [t.id for t in catalogue.tracks] == ["prevention", "intervention", "postvention"]
    assert all(c in catalogue.courses for t in catalogue.tracks for c in t.courses)


@pytest.mark.parametrize(
    ("name", "course_id"),
    [
        ("icisf-gci", "icisf-gci"),
        ("ICISF-GCI", "icisf-gci"),
        ("Group Crisis Intervention", "icisf-gci"),
        ("  group   crisis INTERVENTION  ", "icisf-gci"),
        ("GCI", "icisf-gci"),
        ("gci online", "icisf-gci-online"),
        ("Mental Health First Aid for Public Safety", "mhfa-ps"),
        ("reciprocal peer support (rps)", "cop2cop-rps"),
    ],
)
def test_catalogue_find_by_id_title_or_alias(catalogue: Catalogue, name: str, course_id: str) -> None:
    """A course is found by id, title or alias, without regard to case or spacing."""
    found = catalogue.find(name)
    assert found is not None
    assert found.id == course_id


def test_catalogue_find_unknown(catalogue: Catalogue) -> None:
    """An unknown name finds nothing (no fuzzy matching)."""
    assert catalogue.find("Group Crisis Interventions") is None


def test_example_agency_pack_shape(catalogue: Catalogue) -> None:
    """The template pack reads every kind it uses with the right types and windows."""
    pack = load_pack("example-agency", catalogue)
    kinds = {r.id: type(r) for r in pack.requirements}
    assert kinds == {
        "quarterly-training": Recurring,
        "annual-hours": Hours,
        "rps": Certificate,
        "crisis-response": AnyOf,
        "prevention-core": AllOf,
        "prevention-topics": Topics,
    }
    assert pack.grace_months == 6
    annual = pack.requirement("annual-hours")
    assert isinstance(annual, Hours)
    assert annual.window == Periodic(12)
    assert annual.minimums[0].hours == Decimal(4)
    core = pack.requirement("prevention-core")
    assert isinstance(core, AllOf)
    suicide = core.of[1]
    assert isinstance(suicide, NOf)
    assert suicide.n == 2
    assert suicide.window == Rolling(36)


def test_toml_decimals_are_exact(write) -> None:
    """Numbers with decimals in TOML are read as exact Decimals, not floats."""
    path = write("c.toml", '[[courses]]\nid = "x"\ntitle = "X"\nprovider = "P"\nhours = 0.1\n')
    assert read_toml(path)["courses"][0]["hours"] == Decimal("0.1")
    assert load_catalogue([path]).course("x").hours == Decimal("0.1")


# -- bad rule packs -------------------------------------------------------------------------------

BAD_PACKS = [
    ("unknown-course.toml", "requirements[0].counts.courses[1]", "unknown course id 'basket-weaving'"),
    (
        "unknown-certificate-course.toml",
        "requirements[0].of[1].courses[1]",
        "unknown course id 'underwater-crisis'",
    ),
    (
        "unknown-minimum-course.toml",
        "requirements[0].minimums[1].counts.courses[0]",
        "unknown course id 'zz-unknown'",
    ),
    ("negative-hours.toml", "requirements[0]", "hours must not be negative, got -4"),
    (
        "months-zero.toml",
        "requirements[0].window",
        "months must be a positive whole number of months, got 0",
    ),
    (
        "months-negative.toml",
        "requirements[0].window",
        "months must be a positive whole number of months, got -3",
    ),
    (
        "unknown-window-kind.toml",
        "requirements[0].window",
        "unknown window kind 'fortnightly'; expected one of: all_time, rolling, any_span, periodic",
    ),
    (
        "unknown-requirement-kind.toml",
        "requirements[0]",
        "unknown requirement kind 'vibes'; expected one of: hours, topics, certificate, n_of, recurring, "
        "all_of, any_of",
    ),
    ("unknown-key.toml", "requirements[0]", "unknown key(s): hourz"),
    ("unknown-pack-key.toml", "colour", "unknown key; expected [pack] and [[requirements]]"),
    ("unknown-header-key.toml", "pack", "unknown key(s): licence"),
    ("missing-version.toml", "pack.version", "required key missing"),
    ("missing-pack-table.toml", "pack", "missing the [pack] table"),
    (
        "duplicate-requirement-ids.toml",
        "requirements[2].id",
        "duplicate requirement id 'hours' (first at requirements[0])",
    ),
    ("minimum-over-total.toml", "requirements[0]", "minimum 'in person' (5 h) exceeds the total (4 h)"),
    (
        "approved-only-without-list.toml",
        "requirements[0].counts.approved_providers_only",
        "the pack lists no approved_providers",
    ),
    ("n-too-large.toml", "requirements[0]", "n is 3 but only 2 different courses are listed"),
    ("topics-without-topics.toml", "requirements[0].topics", "list at least one topic, or name a track"),
    (
        "unknown-track.toml",
        "requirements[0].track",
        "unknown track 'aftercare'; known: prevention, intervention, postvention",
    ),
    ("text-for-number.toml", "requirements[0].n", "expected a whole number, got '2'"),
    (
        "bad-anchor.toml",
        "requirements[0].window",
        "anchor must be on day 1-28 of a month so every period starts on the same day, got 2024-01-31",
    ),
]


@pytest.mark.parametrize(("file", "key", "message"), BAD_PACKS, ids=[p[0] for p in BAD_PACKS])
def test_bad_pack_names_file_and_key(catalogue: Catalogue, file: str, key: str, message: str) -> None:
    """A bad rule pack is a CatalogError whose source is the file and whose key is the dotted path
    to the offending value; ``str()`` is ``file: key: message``."""
    path = PACKS / file
    with pytest.raises(CatalogError) as info:
        load_pack(path, catalogue)
    error = info.value
    assert (error.source, error.key, error.message) == (str(path), key, message)
    assert str(error) == f"{path}: {key}: {message}"


def test_toml_syntax_error_names_file_line_and_column(catalogue: Catalogue) -> None:
    """A TOML syntax error names the file and where in it the parser stopped."""
    path = PACKS / "syntax-error.toml"
    with pytest.raises(CatalogError) as info:
        load_pack(path, catalogue)
    assert info.value.source == str(path)
    assert info.value.key == ""
    assert info.value.message == (
        "not valid TOML: Expected ']]' at the end of an array declaration (at line 7, column 15)"
    )


def test_non_utf8_pack(catalogue: Catalogue) -> None:
    """A pack saved in a legacy encoding is rejected as not UTF-8, naming the file."""
    path = PACKS / "not-utf8.toml"
    with pytest.raises(CatalogError) as info:
        load_pack(path, catalogue)
    assert info.value.source == str(path)
    assert info.value.message.startswith("not UTF-8 text: 'utf-8' codec can't decode byte 0xe9")


def test_missing_pack_file(catalogue: Catalogue, tmp_path: Path) -> None:
    """A pack path that does not exist is 'no such file', naming the path."""
    path = tmp_path / "absent.toml"
    with pytest.raises(CatalogError) as info:
        load_pack(path, catalogue)
    assert str(info.value) == f"{path}: no such file"


def test_unknown_pack_id_lists_bundled_packs(catalogue: Catalogue) -> None:
    """An id that is neither bundled nor a file lists the bundled pack ids."""
    with pytest.raises(CatalogError) as info:
        load_pack("mn-181-9999", catalogue)
    assert str(info.value) == (
        "mn-181-9999: no such rule pack; bundled packs are: " + ", ".join(BUNDLED_PACKS)
    )


def test_pack_using_a_local_course_needs_the_local_catalogue(catalogue: Catalogue) -> None:
    """A pack naming an agency's own course fails against the bundled catalogue and loads once the
    agency's catalogue file is merged in."""
    path = PACKS / "good-local-course.toml"
    with pytest.raises(CatalogError) as info:
        load_pack(path, catalogue)
    assert info.value.key == "requirements[0].courses[0]"
    assert info.value.message == "unknown course id 'local-resilience'"
    merged = catalogue.merged(load_catalogue([CATALOGUES / "local-courses.toml"]))
    pack = load_pack(path, merged)
    requirement = pack.requirement("local")
    assert isinstance(requirement, Certificate)
    assert requirement.courses == ("local-resilience",)
    assert requirement.valid_months == 24


# -- bad catalogues -------------------------------------------------------------------------------


def test_local_catalogue_reads_every_field() -> None:
    """An agency catalogue file is read field by field (hours exact, enums converted)."""
    course = load_catalogue([CATALOGUES / "local-courses.toml"]).course("local-resilience")
    assert course.hours == Decimal("3.5")
    assert course.delivery is Delivery.BLENDED
    assert course.functions == frozenset({Function.PREVENTION})
    assert course.topics == frozenset({"resilience", "self-care"})
    assert course.aliases == ("Resilience Workshop", "PLPD-RW")
    assert course.validity_months == 24


BAD_CATALOGUES = [
    (
        "duplicate-alias.toml",
        "courses[1].aliases[1]",
        "the name '  DEBRIEF   101 ' is already used by course 'debrief-a' ({file}: courses[0].aliases[0])",
    ),
    (
        "alias-is-other-title.toml",
        "courses[1].aliases[0]",
        "the name 'course a' is already used by course 'course-a' ({file}: courses[0].title)",
    ),
    ("negative-course-hours.toml", "courses[1]", "hours must not be negative, got -1.5"),
    ("course-unknown-key.toml", "courses[0]", "unknown key(s): colour"),
    ("course-bad-delivery.toml", "courses[0].delivery", "'carrier pigeon' is not a valid Delivery"),
    ("unknown-top-key.toml", "catalogue", "unknown key; expected courses or tracks"),
    ("courses-not-array.toml", "courses", "must be an array of tables ([[courses]]), got 'qpr'"),
    ("track-unknown-course.toml", "tracks[0].courses[1]", "unknown course id 'grief-walk'"),
]


@pytest.mark.parametrize(("file", "key", "message"), BAD_CATALOGUES, ids=[c[0] for c in BAD_CATALOGUES])
def test_bad_catalogue_names_file_and_key(file: str, key: str, message: str) -> None:
    """A bad catalogue file (read after the bundled one) is a CatalogError naming that file and the
    key of the offending course, track or name."""
    path = CATALOGUES / file
    with pytest.raises(CatalogError) as info:
        load_catalogue([*bundled_files(), path])
    error = info.value
    assert (error.source, error.key, error.message) == (str(path), key, message.format(file=path))


def test_alias_clashing_with_a_bundled_course_names_both() -> None:
    """An agency alias equal to a bundled course id names the agency file and key, and where the
    name is already used."""
    path = CATALOGUES / "clashes-with-bundled.toml"
    assert load_catalogue([path]).find("ASIST") is not None  # fine on its own
    with pytest.raises(CatalogError) as info:
        load_catalogue([*bundled_files(), path])
    courses_toml = bundled_files()[0]
    index = [c.id for c in load_bundled_catalogue()].index("asist")
    assert str(info.value) == (
        f"{path}: courses[0].aliases[0]: the name 'asist' is already used by course 'asist' "
        f"({courses_toml}: courses[{index}].id)"
    )


def test_duplicate_course_id_across_files_names_both_files() -> None:
    """The same course id in two catalogue files names the second file's key and the first file."""
    first, second = CATALOGUES / "duplicate-id-first.toml", CATALOGUES / "duplicate-id-second.toml"
    with pytest.raises(CatalogError) as info:
        load_catalogue([first, second])
    assert str(info.value) == f"{second}: courses[1].id: duplicate course id 'shared-id' (first in {first})"


def test_track_referencing_unknown_course_alone() -> None:
    """Track references are checked against every file read: alone, even 'qpr' is unknown."""
    path = CATALOGUES / "track-unknown-course.toml"
    with pytest.raises(CatalogError) as info:
        load_catalogue([path])
    assert (info.value.source, info.value.key) == (str(path), "tracks[0].courses[0]")


def test_merged_catalogue_rejects_clashing_names() -> None:
    """``Catalogue.merged`` refuses a course whose alias is a bundled course's id."""
    extra = load_catalogue([CATALOGUES / "clashes-with-bundled.toml"])
    with pytest.raises(ValueError, match=r"^the name 'asist' is used by both 'asist' and 'local-asist'$"):
        load_bundled_catalogue().merged(extra)


def test_bundled_catalogue_with_extra_files(catalogue: Catalogue) -> None:
    """``load_bundled_catalogue(extra)`` adds an agency's courses to the bundled ones."""
    merged = load_bundled_catalogue([CATALOGUES / "local-courses.toml"])
    assert len(merged) == len(catalogue) + 1
    found = merged.find("plpd-rw")
    assert found is not None
    assert found.id == "local-resilience"
    assert merged.course("qpr") == catalogue.course("qpr")

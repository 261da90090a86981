"""Reading the catalogue, tracks and rule packs from TOML, and finding the bundled data.

The bundled ``curricula/`` folder ships inside the wheel (as ``peertrain/_data/curricula``), so an
installed peertrain finds it without the source tree. Everything read is validated; any problem is
a :class:`~peertrain.errors.CatalogError` naming the file and the key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import cattrs

from peertrain._types import StrPath
from peertrain.errors import CatalogError
from peertrain.rules.catalog import Catalogue, Track, normalise_name
from peertrain.rules.convert import converter, error_messages
from peertrain.rules.model import Course
from peertrain.rules.requirements import (
    AllOf,
    AnyOf,
    Certificate,
    CourseFilter,
    Hours,
    NOf,
    Requirement,
    RulePack,
    Topics,
)

__all__ = [
    "bundled_pack_ids",
    "curricula_dir",
    "data_dir",
    "load_bundled_catalogue",
    "load_catalogue",
    "load_pack",
    "read_toml",
    "resolve_pack",
]

#: The peertrain package folder (this module is in its rules/ subpackage).
_PACKAGE = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The folder holding ``curricula/`` and ``integrations/``: inside the installed package, or
    the source checkout's top level when running from ``src/``."""
    installed = _PACKAGE / "_data"
    if (installed / "curricula").is_dir():
        return installed
    checkout = _PACKAGE.parent.parent
    if (checkout / "curricula").is_dir():
        return checkout
    raise RuntimeError(  # pragma: no cover - a broken installation
        f"peertrain's bundled data is missing: neither {installed} nor {checkout} has curricula/"
    )


def curricula_dir() -> Path:
    """The bundled ``curricula/`` folder."""
    return data_dir() / "curricula"


def read_toml(path: StrPath) -> dict[str, Any]:
    """A TOML file as data, numbers with decimals read exactly; errors name the file."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle, parse_float=Decimal)
    except FileNotFoundError:
        raise CatalogError(str(path), "", "no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(str(path), "", f"not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise CatalogError(str(path), "", f"not UTF-8 text: {exc}") from None


def _structure(data: Any, cls: Any, source: str) -> Any:
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        pairs = error_messages(exc) if isinstance(exc, cattrs.BaseValidationError) else [("", str(exc))]
        key, message = pairs[0]
        if len(pairs) > 1:
            message += f" (and {len(pairs) - 1} more problem{'s' if len(pairs) > 2 else ''})"
        raise CatalogError(source, key, message) from None


def load_catalogue(paths: Iterable[StrPath]) -> Catalogue:
    """A catalogue from TOML files, each with ``[[courses]]`` and/or ``[[tracks]]`` tables."""
    courses: list[tuple[str, str, Course]] = []
    tracks: list[tuple[str, str, Track]] = []
    for path in map(Path, paths):
        data = read_toml(path)
        unknown = set(data) - {"courses", "tracks"}
        if unknown:
            raise CatalogError(str(path), sorted(unknown)[0], "unknown key; expected courses or tracks")
        for i, raw in enumerate(_table_list(data, "courses", path)):
            key = f"courses[{i}]"
            courses.append((str(path), key, _structure_at(raw, Course, str(path), key)))
        for i, raw in enumerate(_table_list(data, "tracks", path)):
            tracks.append((str(path), f"tracks[{i}]", _structure_at(raw, Track, str(path), f"tracks[{i}]")))
    seen: dict[str, str] = {}
    for source, key, course in courses:
        if course.id in seen:
            raise CatalogError(source, f"{key}.id", f"duplicate course id {course.id!r} (first in {seen[course.id]})")
        seen[course.id] = source
    _check_names(courses)
    try:
        catalogue = Catalogue([c for _, _, c in courses], [t for _, _, t in tracks])
    except ValueError as exc:  # pragma: no cover - _check_names finds these first, with the key
        raise CatalogError(", ".join(sorted(set(seen.values()))), "aliases", str(exc)) from None
    for source, key, track in tracks:
        for j, course_id in enumerate(track.courses):
            if course_id not in catalogue.courses:
                raise CatalogError(source, f"{key}.courses[{j}]", f"unknown course id {course_id!r}")
    return catalogue


def _structure_at(data: Any, cls: Any, source: str, key: str) -> Any:
    """``_structure`` with the error's key placed under ``key`` (e.g. ``courses[3].hours``)."""
    try:
        return _structure(data, cls, source)
    except CatalogError as exc:
        raise CatalogError(source, f"{key}.{exc.key}".rstrip("."), exc.message) from None


def _check_names(courses: Sequence[tuple[str, str, Course]]) -> None:
    """Every id, title and alias must name one course; a clash names the file and key."""
    names: dict[str, tuple[str, str, str]] = {}
    for source, key, course in courses:
        fields = [("id", course.id), ("title", course.title)]
        fields += [(f"aliases[{j}]", alias) for j, alias in enumerate(course.aliases)]
        for field_key, name in fields:
            other = names.setdefault(normalise_name(name), (course.id, source, f"{key}.{field_key}"))
            if other[0] != course.id:
                raise CatalogError(
                    source,
                    f"{key}.{field_key}",
                    f"the name {name!r} is already used by course {other[0]!r} ({other[1]}: {other[2]})",
                )


def _table_list(data: dict[str, Any], key: str, path: Path) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise CatalogError(str(path), key, f"must be an array of tables ([[{key}]]), got {value!r}")
    return value


def load_bundled_catalogue(extra: Iterable[StrPath] = ()) -> Catalogue:
    """The catalogue that ships with peertrain (``curricula/courses.toml`` and ``tracks.toml``),
    plus the courses and tracks of any ``extra`` catalogue files (which may not reuse a bundled
    course id, title or alias)."""
    root = curricula_dir()
    return load_catalogue([root / "courses.toml", root / "tracks.toml", *extra])


def bundled_pack_ids() -> list[str]:
    """Ids of the rule packs that ship with peertrain, sorted."""
    return sorted(p.stem for p in (curricula_dir() / "packs").glob("*.toml"))


def resolve_pack(name: str) -> Path:
    """The file for a pack given by bundled id (``mn-181-9731``) or by path to a TOML file."""
    candidate = Path(name)
    if candidate.suffix == ".toml" or candidate.is_file():
        return candidate
    bundled = curricula_dir() / "packs" / f"{name}.toml"
    if bundled.is_file():
        return bundled
    raise CatalogError(
        name, "", f"no such rule pack; bundled packs are: {', '.join(bundled_pack_ids())}"
    )


def load_pack(name: StrPath, catalogue: Catalogue) -> RulePack:
    """The rule pack in a TOML file (or bundled, by id), checked against ``catalogue``.

    The file has a ``[pack]`` table and ``[[requirements]]`` tables. Every course and track a
    requirement names must be in the catalogue.
    """
    path = resolve_pack(os.fspath(name))
    data = read_toml(path)
    unknown = set(data) - {"pack", "requirements"}
    if unknown:
        raise CatalogError(str(path), sorted(unknown)[0], "unknown key; expected [pack] and [[requirements]]")
    header = data.get("pack")
    if not isinstance(header, dict):
        raise CatalogError(str(path), "pack", "missing the [pack] table")
    raw_requirements = data.get("requirements", [])
    _check_unique_ids(raw_requirements, str(path))
    try:
        pack: RulePack = _structure({**header, "requirements": raw_requirements}, RulePack, str(path))
    except CatalogError as exc:
        # Everything but the requirements comes from the [pack] table: say so in the key.
        if not exc.key.startswith("requirements"):
            raise CatalogError(exc.source, f"pack.{exc.key}".rstrip("."), exc.message) from None
        raise
    _check_references(pack, raw_requirements, catalogue, str(path))
    return pack


def _check_unique_ids(raw_requirements: Any, source: str) -> None:
    """Two top-level requirements with one id: name the second one's key."""
    if not isinstance(raw_requirements, list):
        return
    first: dict[str, int] = {}
    for i, raw in enumerate(raw_requirements):
        requirement_id = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(requirement_id, str):
            continue
        if requirement_id in first:
            raise CatalogError(
                source,
                f"requirements[{i}].id",
                f"duplicate requirement id {requirement_id!r} "
                f"(first at requirements[{first[requirement_id]}])",
            )
        first[requirement_id] = i


def _at(raw: Any, *path: str | int) -> Any:
    """The raw TOML value at ``path`` (keys and list indexes), or ``None``."""
    for step in path:
        if isinstance(step, str) and isinstance(raw, dict):
            raw = raw.get(step)
        elif isinstance(step, int) and isinstance(raw, list) and step < len(raw):
            raw = raw[step]
        else:
            return None
    return raw


def _check_references(pack: RulePack, raw_requirements: Any, catalogue: Catalogue, source: str) -> None:
    for i, req in enumerate(pack.requirements):
        for key, problem in _problems(req, _at(raw_requirements, i), pack, catalogue):
            raise CatalogError(source, f"requirements[{i}]{key}", problem)


def _problems(
    req: Requirement, raw: Any, pack: RulePack, catalogue: Catalogue
) -> Iterator[tuple[str, str]]:
    """Problems with the names ``req`` uses; ``raw`` is its TOML table, so that an index in a key
    points at the entry as written (a filter's course list is held as a set, in no order)."""

    def courses(ids: Sequence[str] | frozenset[str], written: Any, key: str) -> Iterator[tuple[str, str]]:
        if isinstance(ids, frozenset):
            if isinstance(written, list) and all(isinstance(n, str) for n in written):
                listed = [n.strip() for n in written]
            else:  # pragma: no cover - the structured value always comes from the raw list
                listed = sorted(ids)
        else:
            listed = list(ids)
        for j, course_id in enumerate(listed):
            if course_id not in catalogue.courses:
                yield f"{key}[{j}]", f"unknown course id {course_id!r}"

    def counts(flt: CourseFilter, raw_counts: Any, key: str) -> Iterator[tuple[str, str]]:
        yield from courses(flt.courses, _at(raw_counts, "courses"), f"{key}.courses")
        if flt.approved_providers_only and not pack.approved_providers:
            yield f"{key}.approved_providers_only", "the pack lists no approved_providers"

    if isinstance(req, AllOf | AnyOf):
        for j, part in enumerate(req.of):
            for key, problem in _problems(part, _at(raw, "of", j), pack, catalogue):
                yield f".of[{j}]{key}", problem
        return
    yield from counts(req.counts, _at(raw, "counts"), ".counts")
    if isinstance(req, Hours):
        for j, minimum in enumerate(req.minimums):
            yield from counts(minimum.counts, _at(raw, "minimums", j, "counts"), f".minimums[{j}].counts")
    if isinstance(req, Certificate | NOf):
        yield from courses(req.courses, None, ".courses")
    if isinstance(req, Topics):
        if req.track is not None:
            try:
                catalogue.track(req.track)
            except KeyError:
                known = ", ".join(t.id for t in catalogue.tracks)
                yield ".track", f"unknown track {req.track!r}; known: {known}"
        elif not req.topics:
            yield ".topics", "list at least one topic, or name a track"

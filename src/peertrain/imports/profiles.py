"""Import profiles: how one portal's export maps onto peertrain's fields, as data.

A profile is a TOML file in ``integrations/profiles/`` (bundled) or anywhere on disk. It says the
export's format (CSV, XLSX or XML), where each field is (a column header, or an XPath for XML),
how dates are written, which time zone naive timestamps are in, which status values mean
completed, and how rows are matched to roster members and catalogue courses. ``docs/profiles.md``
documents every key; a coordinator writes a profile for their own portal without code.

The canonical fields a profile can map (:data:`FIELDS`):

==================  ==============================================================================
``record_id``       the source's own id for the row (enrolment id, certificate number)
``name``            the learner's full name, or ``first_name`` + ``last_name``
``email``           the learner's email
``portal_user_id``  the learner's id in the portal
``agency``          the learner's agency
``course_id``       the course's id in the export (matched against catalogue ids and aliases)
``course_title``    the course's title (matched against catalogue titles and aliases)
``enrolled_on``     enrolment date
``completed_on``    completion date or timestamp
``status``          the enrolment status (mapped through ``[statuses]``)
``hours``           credit hours (or CEUs, with ``hours_unit = "ceu"``)
``certificate``     certificate number
``delivery``        in_person / online / blended
``provider``        who delivered the course
==================  ==============================================================================

A profile must map ``completed_on``, something that identifies the person, and ``course_id`` or
``course_title`` -- unless it sets ``course_from = "option"``: then the export carries no course
(a Moodle completion report is one report per course) and the importer takes the course from the
command line (``--course``) instead.
"""

from __future__ import annotations

import codecs
import enum
import re
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import cattrs
from attrs import field, frozen
from lxml import etree

from peertrain._types import StrPath
from peertrain.errors import CatalogError
from peertrain.rules.convert import converter, error_messages
from peertrain.rules.loading import data_dir, read_toml
from peertrain.rules.model import to_names

__all__ = [
    "FIELDS",
    "ExportFormat",
    "Profile",
    "RowStatus",
    "bundled_profile_ids",
    "load_profile",
    "profiles_dir",
]

#: Every field a profile may map.
FIELDS = (
    "record_id", "name", "first_name", "last_name", "email", "portal_user_id", "agency",
    "course_id", "course_title", "enrolled_on", "completed_on", "status", "hours", "certificate",
    "delivery", "provider",
)

#: The ways rows can be matched to members, tried in the profile's order.
PEOPLE_MATCHERS = ("email", "portal_user_id", "name+agency")
#: The ways rows can be matched to courses, tried in the profile's order.
COURSE_MATCHERS = ("course_id", "course_title")
#: Where the course of every row comes from: a mapped column, or the importer's course option.
COURSE_SOURCES = ("column", "option")

# An XML record path: absolute, element names only (``/transcript/learner/course``).
_RECORD_PATH = re.compile(r"(?:/[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)+")


class ExportFormat(enum.StrEnum):
    """The file formats peertrain reads exports in."""

    CSV = "csv"
    XLSX = "xlsx"
    XML = "xml"


class RowStatus(enum.StrEnum):
    """What an export row says about the enrolment."""

    COMPLETED = "completed"
    IN_PROGRESS = "in_progress"
    FAILED = "failed"


def _fields(value: Mapping[str, str]) -> Mapping[str, str]:
    if not isinstance(value, Mapping):
        raise TypeError(f"fields must be a table of field = column, got {value!r}")
    for key, column in value.items():
        if key not in FIELDS:
            raise ValueError(f"unknown field {key!r}; the fields are: {', '.join(FIELDS)}")
        if not isinstance(column, str) or not column.strip():
            raise ValueError(f"field {key!r} must name a column (or an XPath), got {column!r}")
    return MappingProxyType(dict(value))


def _status_map(value: Mapping[Any, Any]) -> Mapping[RowStatus, tuple[str, ...]]:
    """``{"completed": ["Completed", ...], ...}`` checked: no value may mean two statuses."""
    if not isinstance(value, Mapping):
        raise TypeError(f"statuses must be a table, got {value!r}")
    result: dict[RowStatus, tuple[str, ...]] = {}
    seen: dict[str, RowStatus] = {}
    for status, values in value.items():
        kind = RowStatus(status)
        result[kind] = to_names(values)
        for text in result[kind]:
            key = _fold(text)
            if key in seen and seen[key] is not kind:
                raise ValueError(f"the status {text!r} is listed as both {seen[key]} and {kind}")
            seen[key] = kind
    return MappingProxyType(result)


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def _timezone(_inst: object, _attribute: Any, value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America" is a folder
        raise ValueError(f"unknown time zone {value!r} (use an IANA name like 'America/Chicago')") from None


def _encoding(_inst: object, _attribute: Any, value: str) -> None:
    if value == "auto":
        return
    try:
        codecs.lookup(value)
    except LookupError:
        raise ValueError(f"unknown encoding {value!r} (use 'auto' or a codec name like 'cp1252')") from None


def _choices(allowed: tuple[str, ...]) -> Any:
    def check(_inst: object, attribute: Any, value: tuple[str, ...]) -> None:
        for item in value:
            if item not in allowed:
                raise ValueError(f"{attribute.name}: unknown {item!r}; choose from {', '.join(allowed)}")
        if not value:
            raise ValueError(f"{attribute.name} must list at least one of {', '.join(allowed)}")

    return check


@frozen(kw_only=True)
class Profile:
    """How to read one portal's export. See the module docs and ``docs/profiles.md``."""

    id: str
    title: str
    format: ExportFormat = field(converter=ExportFormat)
    #: The source system's name; record ids are unique within one source.
    source: str
    fields: Mapping[str, str] = field(converter=_fields)
    #: XML only: the absolute path of element names to one record (``/transcript/learner/course``).
    record_path: str | None = None
    #: ``auto`` (UTF-8 with or without BOM, UTF-16 by BOM, else Windows-1252) or a codec name.
    encoding: str = field(default="auto", validator=_encoding)
    #: CSV only: the separator; ``auto`` honours a ``sep=`` first line, else picks , ; or tab.
    delimiter: str = "auto"
    #: XLSX only: the worksheet name (default: the first sheet).
    sheet: str | None = None
    #: strptime formats tried, in order, after ISO 8601 (which is always tried first).
    date_formats: tuple[str, ...] = field(default=(), converter=to_names)
    #: The zone naive timestamps in the export are in.
    source_timezone: str = field(default="UTC", validator=_timezone)
    #: ``hours`` or ``ceu`` (1 CEU = 10 contact hours).
    hours_unit: str = "hours"
    #: Export status values (case-insensitive) for completed / in_progress / failed. Without a
    #: status column: a row with a completion date is completed, else in progress.
    statuses: Mapping[RowStatus, tuple[str, ...]] = field(factory=dict, converter=_status_map)
    #: How rows are matched to roster members, tried in order.
    people: tuple[str, ...] = field(
        default=PEOPLE_MATCHERS, converter=to_names, validator=_choices(PEOPLE_MATCHERS)
    )
    #: How rows are matched to catalogue courses, tried in order.
    courses: tuple[str, ...] = field(
        default=COURSE_MATCHERS, converter=to_names, validator=_choices(COURSE_MATCHERS)
    )
    #: ``column`` (the course is in the export) or ``option`` (one export per course: the importer
    #: is told the course; the profile maps neither ``course_id`` nor ``course_title``).
    course_from: str = "column"
    note: str | None = None
    _lookup: Mapping[str, RowStatus] = field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        lookup = {_fold(text): kind for kind, texts in self.statuses.items() for text in texts}
        object.__setattr__(self, "_lookup", MappingProxyType(lookup))
        if self.hours_unit not in ("hours", "ceu"):
            raise ValueError(f"hours_unit must be 'hours' or 'ceu', got {self.hours_unit!r}")
        if self.format is ExportFormat.XML and not self.record_path:
            raise ValueError("an XML profile needs record_path, the XPath of one record")
        if "completed_on" not in self.fields:
            raise ValueError("fields must map completed_on")
        if self.course_from not in COURSE_SOURCES:
            raise ValueError(f"course_from must be 'column' or 'option', got {self.course_from!r}")
        course_columns = {"course_id", "course_title"} & set(self.fields)
        if self.course_from == "column" and not course_columns:
            raise ValueError("fields must map course_id or course_title (or set course_from = 'option')")
        if self.course_from == "option" and course_columns:
            raise ValueError(
                "course_from = 'option' takes the course from the importer; do not also map "
                + " or ".join(sorted(course_columns))
            )
        people = {"email", "portal_user_id", "name", "last_name"}
        if not (people & set(self.fields)):
            raise ValueError("fields must map at least one of email, portal_user_id, name")
        if "status" in self.fields and not self.statuses:
            raise ValueError("status is mapped, so [statuses] must say which values mean completed")
        if self.delimiter != "auto" and (len(self.delimiter) != 1 or self.delimiter in '"\r\n'):
            raise ValueError(
                f"delimiter must be one character (not a quote or newline) or 'auto', got {self.delimiter!r}"
            )
        if self.format is ExportFormat.XML:
            self._check_xpaths()

    def _check_xpaths(self) -> None:
        if not _RECORD_PATH.fullmatch(self.record_path or ""):
            raise ValueError(
                f"record_path must be an absolute path of element names like '/transcript/learner/course', "
                f"got {self.record_path!r}"
            )
        for key, path in self.fields.items():
            try:
                etree.XPath(path)
            except etree.XPathSyntaxError as exc:
                raise ValueError(f"field {key!r}: {path!r} is not a valid XPath ({exc})") from None

    def status_of(self, text: str | None, has_completion_date: bool) -> RowStatus | None:
        """The status an export value means; ``None`` for a value the profile does not list."""
        if "status" not in self.fields:
            return RowStatus.COMPLETED if has_completion_date else RowStatus.IN_PROGRESS
        if text is None:
            return None
        return self._lookup.get(_fold(text))


def profiles_dir() -> Path:
    """The bundled ``integrations/profiles/`` folder."""
    return data_dir() / "integrations" / "profiles"


def bundled_profile_ids() -> list[str]:
    """Ids of the profiles that ship with peertrain, sorted."""
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def load_profile(name: StrPath) -> Profile:
    """A profile by bundled id (``cops-portal-csv``) or path to a TOML file; errors name the key."""
    path = Path(name)
    if not (path.suffix == ".toml" or path.exists()):
        bundled = profiles_dir() / f"{name}.toml"
        if not bundled.is_file():
            known = ", ".join(bundled_profile_ids())
            raise CatalogError(str(name), "", f"no such import profile; bundled profiles are: {known}")
        path = bundled
    data = read_toml(path)
    unknown = set(data) - {"profile", "fields", "statuses"}
    if unknown:
        raise CatalogError(
            str(path), sorted(unknown)[0], "unknown table; expected [profile], [fields], [statuses]"
        )
    header = data.get("profile")
    if not isinstance(header, dict):
        raise CatalogError(str(path), "profile", "missing the [profile] table")
    raw = {**header, "fields": data.get("fields", {}), "statuses": data.get("statuses", {})}
    return _structure_profile(raw, str(path))


def _structure_profile(raw: dict[str, Any], source: str) -> Profile:
    try:
        profile: Profile = converter.structure(raw, Profile)
    except cattrs.BaseValidationError as exc:
        key, message = error_messages(exc)[0]
        raise CatalogError(source, key, message) from None
    except (ValueError, TypeError) as exc:
        raise CatalogError(source, "", str(exc)) from None
    return profile

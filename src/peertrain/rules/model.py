"""The records peertrain reasons about: members, courses, completions and exemptions.

All are frozen attrs value objects, validated when they are made, so an invalid one cannot exist.
None of them does I/O; the readers in :mod:`peertrain.imports.tables` and :mod:`peertrain.rules.catalog` build them.

Hours are :class:`decimal.Decimal` so that sums are exact (14 + 1.4 CEU x 10 is 28, not
27.999999999999996); the constructors also accept ``int``, ``float`` and numeric strings.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from attrs import field, frozen

__all__ = [
    "CEU_HOURS",
    "SELF_REPORTED_SOURCE",
    "Completion",
    "Course",
    "Delivery",
    "Function",
    "Member",
    "Role",
    "Waiver",
    "WaiverKind",
    "find_control_character",
    "hours_from_ceu",
    "is_self_reported",
    "parse_iso_date",
    "refuse_control_characters",
]

E = TypeVar("E", bound=enum.Enum)

#: The longest validity a course may have (the same bound as rule packs' months,
#: :data:`peertrain.rules.windows.MAX_MONTHS`).
MAX_VALIDITY_MONTHS = 1200

#: Contact hours in one Continuing Education Unit (IACET: 1 CEU = 10 contact hours).
CEU_HOURS = Decimal(10)


class Function(enum.StrEnum):
    """What a member does for the team (IACP/COPS guide, "Training the peer support team")."""

    PREVENTION = "prevention"
    INTERVENTION = "intervention"
    POSTVENTION = "postvention"


class Role(enum.StrEnum):
    """A member's position on the team."""

    PEER_SUPPORTER = "peer_supporter"
    COORDINATOR = "coordinator"
    CLINICIAN = "clinician"
    CHAPLAIN = "chaplain"


class Delivery(enum.StrEnum):
    """How a course was delivered; some rules count only in-person hours."""

    IN_PERSON = "in_person"
    ONLINE = "online"
    BLENDED = "blended"


class WaiverKind(enum.StrEnum):
    """Why a coordinator set a requirement aside for one member."""

    #: The requirement does not apply to this member (e.g. a clinician licensed elsewhere).
    EXEMPTION = "exemption"
    #: Training done elsewhere was accepted as equivalent (e.g. another state's 40-hour course).
    EQUIVALENCY = "equivalency"


# -- converters and validators (the boundary) -------------------------------------------------


def to_hours(value: Any) -> Decimal:
    """Convert a number of hours to an exact ``Decimal``; reject what is not a finite number."""
    if isinstance(value, bool):
        raise TypeError(f"hours must be a number, got {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int | float | str):
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"hours must be a number, got {value!r}") from None
    else:
        raise TypeError(f"hours must be a number, got {value!r}")
    shown = str(value) if isinstance(value, Decimal) else repr(value)
    if not result.is_finite():
        raise ValueError(f"hours must be a finite number, got {shown}")
    if result < 0:
        raise ValueError(f"hours must not be negative, got {shown}")
    if result == 0:
        return Decimal(0)
    result = result.normalize()
    # normalize() writes 40 as 4E+1; keep whole numbers in plain notation for messages.
    return result.quantize(Decimal(1)) if result.as_tuple().exponent > 0 else result  # type: ignore[operator]


def _opt_hours(value: Any) -> Decimal | None:
    return None if value is None else to_hours(value)


#: Dates peertrain accepts in files and on the command line: rule windows reach years beyond a
#: date, so the calendar's ends (year 1, year 9999) must stay out of reach.
PLAUSIBLE_YEARS = (1900, 2999)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_iso_date(text: str) -> dt.date:
    """A date written exactly ``YYYY-MM-DD`` (not the compact or week forms Python also accepts)."""
    text = text.strip()
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not a date written YYYY-MM-DD")
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date written YYYY-MM-DD") from None
    if not PLAUSIBLE_YEARS[0] <= day.year <= PLAUSIBLE_YEARS[1]:
        raise ValueError(f"{text!r} is outside the years {PLAUSIBLE_YEARS[0]}-{PLAUSIBLE_YEARS[1]}")
    return day


#: The ledger source (and batch profile) of records made by approving a self-reported submission
#: (:mod:`peertrain.submissions`); imports and pulls should not use it.
SELF_REPORTED_SOURCE = "self-reported"

#: A self-reported record's origin: ``self-reported:<submission id>; approved by ...``. An import's
#: origin is ``file:row`` (a row is a number, never followed by ``;``) and a pull's ``source id``,
#: so no other record's origin has this shape.
_SELF_REPORTED_ORIGIN = re.compile(r"self-reported:[0-9]+; ")


def is_self_reported(origin: str) -> bool:
    """Whether a record's origin (a :class:`Completion`'s ``source``) says it is an approved
    self-reported submission, not an imported or pulled record."""
    return _SELF_REPORTED_ORIGIN.match(origin) is not None


def _opt_delivery(value: Delivery | str | None) -> Delivery | None:
    return None if value is None else Delivery(value)


def hours_from_ceu(ceu: Any) -> Decimal:
    """Contact hours for a number of CEUs (1 CEU = 10 contact hours)."""
    return to_hours(to_hours(ceu) * CEU_HOURS)


#: Control characters: C0 (including TAB, LF and CR), DEL and C1. A name, an id or any one-line
#: text field holding one could break or inject lines into what peertrain writes (iCalendar
#: content lines above all), so the boundary refuses them.
_CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f]")


def find_control_character(text: str, *, allow: str = "") -> str | None:
    """The first control character (C0, DEL or C1) of ``text`` that is not in ``allow``, written
    ``U+000A``; ``None`` when there is none."""
    for match in _CONTROL_CHARACTERS.finditer(text):
        if match.group() not in allow:
            return f"U+{ord(match.group()):04X}"
    return None


def refuse_control_characters(text: str, what: str, *, allow: str = "") -> str:
    """``text``, or a :class:`ValueError` naming ``what`` when it holds a control character
    (other than those in ``allow``)."""
    found = find_control_character(text, allow=allow)
    if found is not None:
        raise ValueError(
            f"{what} contains the control character {found}; names and text fields cannot hold line breaks, "
            "tabs or other control characters"
        )
    return text


def _nonblank(_inst: object, attribute: Any, value: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{attribute.name} must be text, got {value!r}")
    refuse_control_characters(value, attribute.name)
    if not value.strip():
        raise ValueError(f"{attribute.name} must not be blank")
    if value != value.strip():
        raise ValueError(f"{attribute.name} must not start or end with spaces: {value!r}")


def _opt_text(value: str | None) -> str | None:
    if value is None:
        return None
    value = refuse_control_characters(value, "text").strip()
    return value or None


def _email(value: str | None) -> str | None:
    value = _opt_text(value)
    if value is None:
        return None
    value = refuse_control_characters(value.lower(), "email")
    if value.count("@") != 1 or value.startswith("@") or value.endswith("@") or " " in value:
        raise ValueError(f"email is not an address: {value!r}")
    return value


def _enum_set(enum_type: type[E], values: Iterable[Any]) -> frozenset[E]:
    if isinstance(values, str):
        raise TypeError(f"expected a list of {enum_type.__name__} values, got {values!r}")
    return frozenset(enum_type(v) for v in values)


def to_roles(values: Iterable[Role | str]) -> frozenset[Role]:
    """A set of :class:`Role` from role values (``["coordinator"]``)."""
    return _enum_set(Role, values)


def to_functions(values: Iterable[Function | str]) -> frozenset[Function]:
    """A set of :class:`Function` from function values (``["prevention"]``)."""
    return _enum_set(Function, values)


def to_deliveries(values: Iterable[Delivery | str]) -> frozenset[Delivery]:
    """A set of :class:`Delivery` from delivery values (``["in_person"]``)."""
    return _enum_set(Delivery, values)


def _strip(value: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {value!r}")
    return refuse_control_characters(value, "text").strip()


def to_names(values: Iterable[str]) -> tuple[str, ...]:
    """A tuple of names or ids; a lone string is refused rather than split into letters."""
    if isinstance(values, str):
        raise TypeError(f"expected a list, got the single text {values!r}")
    return tuple(values)


def _text_set(values: Iterable[str]) -> frozenset[str]:
    if isinstance(values, str):
        raise TypeError(f"expected a list of names, got {values!r}")
    return frozenset(v.strip() for v in values)


def _positive_months(_inst: object, attribute: Any, value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{attribute.name} must be a positive whole number of months, got {value!r}")
    if value > MAX_VALIDITY_MONTHS:
        raise ValueError(f"{attribute.name} must be at most {MAX_VALIDITY_MONTHS} months (100 years), got {value!r}")


# -- the records ------------------------------------------------------------------------------


@frozen
class Member:
    """A person on the peer support team.

    ``id`` is the agency's own identifier; ``email`` and ``portal_user_id`` are the other ways
    exports identify the same person. ``joined_on`` starts any grace period a rule grants.
    """

    id: str = field(validator=_nonblank)
    name: str = field(validator=_nonblank)
    agency: str = field(default="", converter=_strip)
    roles: frozenset[Role] = field(
        default=frozenset({Role.PEER_SUPPORTER}), converter=to_roles
    )
    functions: frozenset[Function] = field(default=frozenset(), converter=to_functions)
    joined_on: dt.date | None = None
    email: str | None = field(default=None, converter=_email)
    portal_user_id: str | None = field(default=None, converter=_opt_text)

    @property
    def initials(self) -> str:
        """The member's initials, e.g. ``"J. S."`` for Jane Smith (for privacy-reduced output)."""
        return " ".join(f"{part[0].upper()}." for part in self.name.split() if part)


@frozen
class Course:
    """A catalogued training course.

    ``hours`` is the course's contact hours when known (``None`` when no reliable figure exists;
    then the completion record must carry its hours). ``validity_months`` is how long a
    certificate stays valid from the completion date, ``None`` if it does not expire.
    ``aliases`` are the titles and ids the course appears under in exports (matched without regard
    to case or surrounding spaces).
    """

    id: str = field(validator=_nonblank)
    title: str = field(validator=_nonblank)
    provider: str = field(validator=_nonblank)
    hours: Decimal | None = field(default=None, converter=_opt_hours)
    delivery: Delivery = field(default=Delivery.IN_PERSON, converter=Delivery)
    functions: frozenset[Function] = field(default=frozenset(), converter=to_functions)
    topics: frozenset[str] = field(default=frozenset(), converter=_text_set)
    aliases: tuple[str, ...] = field(default=(), converter=to_names)
    validity_months: int | None = field(default=None, validator=_positive_months)
    note: str | None = None


@frozen
class Completion:
    """Evidence that a member finished a course on a date.

    ``hours`` and ``delivery`` are what the record says, ``None`` when it does not say (then the
    catalogue's figure is used). ``provider`` is who delivered it when that differs from the
    catalogue (e.g. which approved provider ran a state-standard course). ``source`` says where the
    record came from (``file:row``, an LRS statement id) for the audit trail.
    """

    id: str = field(validator=_nonblank)
    member: str = field(validator=_nonblank)
    course: str = field(validator=_nonblank)
    completed_on: dt.date = field()
    hours: Decimal | None = field(default=None, converter=_opt_hours)
    delivery: Delivery | None = field(default=None, converter=_opt_delivery)
    provider: str | None = field(default=None, converter=_opt_text)
    source: str = ""

    @completed_on.validator
    def _is_date(self, _attribute: Any, value: Any) -> None:
        if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
            raise TypeError(f"completed_on must be a date, got {value!r}")


@frozen
class Waiver:
    """A coordinator's recorded decision to set one requirement aside for one member.

    Active from ``granted_on`` through ``valid_until`` (inclusive; ``None`` means open-ended).
    While active the member's verdict for that requirement is ``exempt`` and names who granted it
    and why. ``evidence`` lists completion ids accepted as equivalent, if any.
    """

    member: str = field(validator=_nonblank)
    pack: str = field(validator=_nonblank)
    requirement: str = field(validator=_nonblank)
    kind: WaiverKind = field(converter=WaiverKind)
    granted_by: str = field(validator=_nonblank)
    granted_on: dt.date = field()
    reason: str = field(validator=_nonblank)
    valid_until: dt.date | None = field(default=None)
    evidence: tuple[str, ...] = field(default=(), converter=to_names)
    #: Where the record came from (``file:row``), for error messages and the audit trail.
    source: str = ""

    @valid_until.validator
    def _after_grant(self, _attribute: Any, value: dt.date | None) -> None:
        if value is not None and value < self.granted_on:
            raise ValueError(
                f"valid_until {value.isoformat()} is before granted_on {self.granted_on.isoformat()}"
            )

    def active_on(self, day: dt.date) -> bool:
        """Whether the waiver is in force on ``day``."""
        return self.granted_on <= day and (self.valid_until is None or day <= self.valid_until)

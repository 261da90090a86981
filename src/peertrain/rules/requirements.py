"""Requirements and rule packs: what training a member must have, as data.

A requirement is a frozen value; it does nothing by itself. :mod:`peertrain.rules.engine` evaluates it
for one member on one date. The kinds, with the exact semantics documented in ``docs/rules.md``:

=================  ==================================================================================
``hours``          at least ``hours`` credited hours from matching courses within a window, with
                   optional minimums for parts of them (e.g. 16 of them in person).
``topics``         every listed topic (or every topic of a track) covered by a matching course
                   within a window.
``certificate``    hold one of ``courses`` and not expired: valid from the completion date until
                   the completion date + ``valid_months`` (or the course's validity).
``n_of``           at least ``n`` different courses out of ``courses`` within a window.
``recurring``      at least ``sessions`` matching completions in every period (each quarter, ...).
``all_of``         every part is met.
``any_of``         at least one part is met.
=================  ==================================================================================

Every requirement may say whom it applies to (``applies_to``: roles and functions) and, at the top
level of a pack, how many months of grace a new member has from the join date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Union

from attrs import evolve, field, frozen

from peertrain.rules.model import (
    Delivery,
    Function,
    Member,
    Role,
    _text_set,
    to_deliveries,
    to_functions,
    to_hours,
    to_names,
    to_roles,
)
from peertrain.rules.windows import AllTime, Periodic, Window, check_months

__all__ = [
    "AllOf",
    "AnyOf",
    "Applicability",
    "Certificate",
    "CourseFilter",
    "Hours",
    "Minimum",
    "NOf",
    "Recurring",
    "Requirement",
    "RulePack",
    "Topics",
]


def _nonblank(_inst: object, attribute: Any, value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{attribute.name} must be non-blank text, got {value!r}")


def _grace(_inst: object, attribute: Any, value: int | None) -> None:
    if value is not None:
        check_months(attribute.name, value, allow_zero=True)


def _bool(_inst: object, attribute: Any, value: bool) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{attribute.name} must be true or false, got {value!r}")


def _positive_int(_inst: object, attribute: Any, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{attribute.name} must be a positive whole number, got {value!r}")


@frozen
class CourseFilter:
    """Which completions count toward a requirement.

    Each criterion that is given must match (they combine with AND); within one criterion any
    listed value matches (OR). An empty filter counts every completion.

    - ``courses``: the completion's course id is listed;
    - ``topics`` / ``functions``: the course serves at least one of them;
    - ``providers``: who delivered it (the record's provider, else the catalogue's) is listed;
    - ``delivery``: how it was delivered (the record's mode, else the catalogue's) is listed;
    - ``approved_providers_only``: the provider is on the rule pack's ``approved_providers`` list.
    """

    courses: frozenset[str] = field(default=frozenset(), converter=_text_set)
    topics: frozenset[str] = field(default=frozenset(), converter=_text_set)
    functions: frozenset[Function] = field(default=frozenset(), converter=to_functions)
    providers: frozenset[str] = field(default=frozenset(), converter=_text_set)
    delivery: frozenset[Delivery] = field(default=frozenset(), converter=to_deliveries)
    approved_providers_only: bool = False

    def describe(self) -> str:
        """A short phrase for explanations, e.g. ``"in person"``."""
        parts = []
        if self.delivery:
            parts.append(" or ".join(sorted(d.value.replace("_", " ") for d in self.delivery)))
        if self.topics:
            parts.append("on " + ", ".join(sorted(self.topics)))
        if self.functions:
            parts.append("for " + "/".join(sorted(self.functions)))
        if self.courses:
            parts.append("from " + ", ".join(sorted(self.courses)))
        if self.providers:
            parts.append("by " + ", ".join(sorted(self.providers)))
        if self.approved_providers_only:
            parts.append("by approved providers")
        return " ".join(parts) or "any training"


@frozen
class Applicability:
    """Whom a requirement applies to: members holding any listed role *and* any listed function.

    An empty list means "any": ``Applicability()`` applies to everyone.
    """

    roles: frozenset[Role] = field(default=frozenset(), converter=to_roles)
    functions: frozenset[Function] = field(default=frozenset(), converter=to_functions)

    def matches(self, member: Member) -> bool:
        """Whether ``member`` is subject to the requirement."""
        if self.roles and not (self.roles & member.roles):
            return False
        return not (self.functions and not (self.functions & member.functions))

    def describe(self) -> str:
        parts = []
        if self.roles:
            parts.append("roles " + ", ".join(sorted(self.roles)))
        if self.functions:
            parts.append("functions " + ", ".join(sorted(self.functions)))
        return " and ".join(parts) or "everyone"


@frozen
class Minimum:
    """Within an ``hours`` requirement, at least ``hours`` of the counted hours must match ``counts``.

    ``label`` names the minimum in verdicts (e.g. ``"in person"``, ``"crisis intervention"``).
    """

    label: str = field(validator=_nonblank)
    hours: Decimal = field(converter=to_hours)
    counts: CourseFilter = field(factory=CourseFilter)


def _requirements(values: Iterable[Requirement]) -> tuple[Requirement, ...]:
    return tuple(values)


def _minimums(values: Iterable[Minimum]) -> tuple[Minimum, ...]:
    return tuple(values)


@frozen(kw_only=True)
class _Base:
    id: str = field(validator=_nonblank)
    title: str = field(validator=_nonblank)
    applies_to: Applicability = field(factory=Applicability)
    grace_months: int | None = field(default=None, validator=_grace)
    citation: str | None = None
    note: str | None = None
    #: Whether approved self-reported submissions (:mod:`peertrain.submissions`) count; ``False``
    #: leaves them out of every kind's counting (an all_of / any_of passes it to its parts).
    self_reported: bool = field(default=True, validator=_bool)


@frozen(kw_only=True)
class Hours(_Base):
    """At least ``hours`` credited hours from completions matching ``counts`` within ``window``.

    Every ``minimums`` entry must also be met by the counted hours. With a ``periodic`` window the
    hours are due in every period.
    """

    hours: Decimal = field(converter=to_hours)
    counts: CourseFilter = field(factory=CourseFilter)
    window: Window = field(factory=AllTime)
    minimums: tuple[Minimum, ...] = field(default=(), converter=_minimums)

    @hours.validator
    def _positive(self, _attribute: Any, value: Decimal) -> None:
        if value <= 0:
            raise ValueError(f"hours must be more than 0, got {value}")

    @minimums.validator
    def _fit(self, _attribute: Any, value: tuple[Minimum, ...]) -> None:
        for minimum in value:
            if minimum.hours > self.hours:
                raise ValueError(
                    f"minimum {minimum.label!r} ({minimum.hours} h) exceeds the total ({self.hours} h)"
                )


@frozen(kw_only=True)
class Topics(_Base):
    """Every topic in ``topics`` (plus every topic of ``track``) covered within ``window``.

    A topic is covered by a completion matching ``counts`` whose course lists the topic.
    """

    topics: frozenset[str] = field(default=frozenset(), converter=_text_set)
    track: str | None = None
    counts: CourseFilter = field(factory=CourseFilter)
    window: Window = field(factory=AllTime)


@frozen(kw_only=True)
class Certificate(_Base):
    """Hold a current certificate from one of ``courses``.

    A completion of course C on date d is valid from d until (not including) d + ``valid_months``
    months, where ``valid_months`` defaults to the course's ``validity_months``; if neither is set
    it never lapses. ``counts`` can narrow which completions are accepted (e.g. in person only).
    """

    courses: tuple[str, ...] = field(converter=to_names)
    valid_months: int | None = field(default=None)
    counts: CourseFilter = field(factory=CourseFilter)

    @courses.validator
    def _some(self, _attribute: Any, value: tuple[str, ...]) -> None:
        if not value:
            raise ValueError("courses must list at least one course")

    @valid_months.validator
    def _months(self, _attribute: Any, value: int | None) -> None:
        if value is not None:
            check_months(_attribute.name, value)


@frozen(kw_only=True)
class NOf(_Base):
    """At least ``n`` different courses out of ``courses``, completed within ``window``."""

    n: int = field(validator=_positive_int)
    courses: tuple[str, ...] = field(converter=to_names)
    counts: CourseFilter = field(factory=CourseFilter)
    window: Window = field(factory=AllTime)

    @courses.validator
    def _enough(self, _attribute: Any, value: tuple[str, ...]) -> None:
        if len(set(value)) < self.n:
            raise ValueError(f"n is {self.n} but only {len(set(value))} different courses are listed")


@frozen(kw_only=True)
class Recurring(_Base):
    """At least ``sessions`` completions matching ``counts`` in every period of ``window``."""

    window: Periodic
    counts: CourseFilter = field(factory=CourseFilter)
    sessions: int = field(default=1, validator=_positive_int)


@frozen(kw_only=True)
class _Combined(_Base):
    """A requirement made of parts (``of``): at least one, unique ids, grace only at the top;
    one that refuses self-reported credit passes that on to every part."""

    of: tuple[Requirement, ...] = field(converter=_requirements)

    @of.validator
    def _parts(self, _attribute: Any, value: tuple[Requirement, ...]) -> None:
        _check_parts(value)

    def __attrs_post_init__(self) -> None:
        _refuse_self_reported_in_parts(self)


@frozen(kw_only=True)
class AllOf(_Combined):
    """Met when every part that applies to the member is met."""


@frozen(kw_only=True)
class AnyOf(_Combined):
    """Met when at least one part that applies to the member is met."""


def _refuse_self_reported_in_parts(req: _Combined) -> None:
    """A composite that does not accept self-reported credit passes that on to every part."""
    if not req.self_reported and any(part.self_reported for part in req.of):
        parts = tuple(part if not part.self_reported else evolve(part, self_reported=False) for part in req.of)
        object.__setattr__(req, "of", parts)


def _check_parts(parts: tuple[Requirement, ...]) -> None:
    if not parts:
        raise ValueError("of must list at least one requirement")
    seen: set[str] = set()
    for part in parts:
        if part.id in seen:
            raise ValueError(f"two parts have the id {part.id!r}")
        seen.add(part.id)
        if part.grace_months is not None:
            raise ValueError(
                f"part {part.id!r} sets grace_months; grace belongs on the top-level requirement"
            )


#: Any requirement.
Requirement = Union[Hours, Topics, Certificate, NOf, Recurring, AllOf, AnyOf]  # noqa: UP007


@frozen(kw_only=True)
class RulePack:
    """A named, versioned set of requirements with its source.

    ``citation`` is what a coordinator would quote (e.g. ``"Minn. Stat. § 181.9731"``);
    ``read_on`` is the date the source text was last read by whoever wrote the pack;
    ``grace_months`` is the default grace for every requirement that does not set its own.
    """

    id: str = field(validator=_nonblank)
    title: str = field(validator=_nonblank)
    version: str = field(validator=_nonblank)
    citation: str = field(validator=_nonblank)
    source: str | None = None
    read_on: dt.date | None = None
    note: str | None = None
    approved_providers: frozenset[str] = field(default=frozenset(), converter=_text_set)
    grace_months: int = field(default=0, validator=_grace)
    requirements: tuple[Requirement, ...] = field(converter=_requirements)

    @requirements.validator
    def _unique(self, _attribute: Any, value: tuple[Requirement, ...]) -> None:
        if not value:
            raise ValueError("a rule pack needs at least one requirement")
        seen: set[str] = set()
        for requirement in value:
            if requirement.id in seen:
                raise ValueError(f"two requirements have the id {requirement.id!r}")
            seen.add(requirement.id)

    def requirement(self, requirement_id: str) -> Requirement:
        """The top-level requirement with this id (``KeyError`` if there is none)."""
        for requirement in self.requirements:
            if requirement.id == requirement_id:
                return requirement
        raise KeyError(requirement_id)

    def grace_for(self, requirement: Requirement) -> int:
        """Months of grace a new member has for ``requirement``."""
        if requirement.grace_months is not None:
            return requirement.grace_months
        return self.grace_months

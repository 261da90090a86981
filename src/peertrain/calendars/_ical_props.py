"""Writing calendar properties, for :mod:`peertrain.calendars.feed` (which re-exports the public
names): text as a calendar can hold it (:func:`clean_text`) and escaped exactly as RFC 5545 says
(:class:`_Text`), the UIDs (``uuid5`` in :data:`NAMESPACE`), and :func:`_put`, which sets a
property without icalendar's type inference and shares equal property values between events.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Any

from icalendar import Component, Event, vText, vUnknown
from icalendar.timezone import tzp

#: The namespace of every UID peertrain makes (a fixed value: changing it would duplicate every
#: event in every subscribed calendar).
NAMESPACE = uuid.UUID("0b7f1c2e-5d1a-5b4e-9a53-7e2f6c1d8a40")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """Text as a calendar can hold it: CR LF and lone CR become LF; other control characters
    (C0 but TAB, DEL and C1: forbidden in RFC 5545 TEXT; NEL would end a line for some
    parsers) are removed. Everything else (commas, semicolons, backslashes,
    emoji, any length) is kept and escaped by icalendar."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(parts)))


class _Text(vText):
    """A TEXT value escaped exactly as RFC 5545 (3.3.11) says: backslash, semicolon, comma and
    line break. (icalendar's own escaping first turns a backslash followed by ``N`` into a line
    break, so ``\\N`` in a name would not survive.) The value goes through :func:`clean_text`
    first, so that no CR, LF or other control character can ever reach the content line: a line
    break in a name is the two characters ``\\n``, never a new property."""

    def to_ical(self) -> bytes:
        text = clean_text(str(self))
        text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
        return text.encode("utf-8")


#: Properties that hold TEXT but that icalendar does not type as such (it writes them unescaped):
#: RFC 7986's NAME and the calendar-wide ``X-WR-`` names. Every ``X-`` property peertrain sets
#: with :func:`_put` is text too.
_TEXT_PROPERTIES = frozenset({"name", "x-wr-calname", "x-wr-caldesc", "x-wr-timezone", "x-wr-relcalid"})


def _kind(name: str) -> Any:
    """The value type :func:`_put` makes for property ``name``: :class:`_Text` for every text one."""
    kind = _PROPERTY_TYPES.get(name)
    if kind is None:
        kind = Component.types_factory.for_property(name)
        if kind is vText or kind is vUnknown or name.lower() in _TEXT_PROPERTIES:
            kind = _Text
        _PROPERTY_TYPES[name] = kind
    return kind


_PROPERTY_TYPES: dict[str, Any] = {}
_PROPERTY_VALUES: dict[tuple[Any, ...], Any] = {}


def _put(component: Component, name: str, value: Any) -> None:
    """What ``component.add(name, value)`` does for a single-valued property whose type follows
    from its name alone (text, integer, date or date-time), without ``add``'s type inference,
    which is most of the time a large feed takes to build; text is escaped by :class:`_Text`."""
    # Equal date-times in different zones are equal (and hash alike) in Python, but they are
    # written differently: the zone is part of the key, as is the type.
    key = (name, type(value), getattr(value, "tzinfo", None), value)
    try:
        prop = _PROPERTY_VALUES.get(key)
    except TypeError:  # an unhashable value: made afresh
        component[name] = _kind(name)(value)
        return
    if prop is None:
        prop = _kind(name)(value)
        if len(_PROPERTY_VALUES) >= 50_000:
            _PROPERTY_VALUES.clear()
        # Feeds repeat values (stamps, statuses, dates); property objects are never changed after
        # they are made, so one instance serves every event that has the same value.
        _PROPERTY_VALUES[key] = prop
    component[name] = prop


def _stamp(event: Event, when: dt.datetime, sequence: int) -> None:
    utc = tzp.localize_utc(when)  # as Component.add stores DTSTAMP and LAST-MODIFIED
    _put(event, "dtstamp", utc)
    _put(event, "last-modified", utc)
    _put(event, "sequence", sequence)


def _hours(value: Decimal) -> str:
    return f"{value:f}"

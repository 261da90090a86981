"""Checks and conversions of the session models' fields, for :mod:`peertrain.sessions`: ids,
time zones, local and UTC times, counts.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Callable
from typing import Any

from peertrain.model import refuse_control_characters

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _ident(_inst: object, attribute: Any, value: str) -> None:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError(
            f"{attribute.name} must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), "
            f"got {value!r}"
        )


def _zone(_inst: object, attribute: Any, value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"{attribute.name} {value!r} is not an IANA time zone such as America/Chicago") from None


def _one_line(name: str) -> Callable[[Any], str | None]:
    """The converter of the one-line text field ``name`` (a title, a location, a provider): no
    control characters at all; blank is ``None``. Its errors start with ``name``."""

    def convert(value: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            raise TypeError(f"{name}: expected text, got {value!r}")
        return refuse_control_characters(value.strip(), name) or None

    return convert


def _opt_paragraphs(value: Any) -> str | None:
    """Text of several lines (a description): line breaks and tabs, but no other control character."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"description: expected text, got {value!r}")
    return refuse_control_characters(value.strip(), "description", allow="\t\n\r") or None


def _local(_inst: object, attribute: Any, value: dt.datetime) -> None:
    if not isinstance(value, dt.datetime):
        raise TypeError(f"{attribute.name} must be a local date-time such as 2026-01-13T09:00:00, got {value!r}")
    if value.tzinfo is not None:
        raise ValueError(
            f"{attribute.name} must be a local time without an offset (the session's timezone says where), "
            f"got {value.isoformat()}"
        )


def _utc(value: Any) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise TypeError(f"updated must be a date-time with an offset such as 2026-06-20T14:00:00Z, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"updated must carry an offset (Z or ±HH:MM) so it means one instant, got {value.isoformat()}"
        )
    return value.astimezone(dt.UTC).replace(microsecond=0)


def _non_negative(_inst: object, attribute: Any, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{attribute.name} must be a whole number >= 0, got {value!r}")


def _opt_positive(_inst: object, attribute: Any, value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ValueError(f"{attribute.name} must be a whole number > 0, got {value!r}")

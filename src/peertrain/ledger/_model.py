"""The consortium's values a ledger returns, for :mod:`peertrain.ledger` (which re-exports them):
an agency, a member's move between agencies, and how an agency id is checked."""

from __future__ import annotations

import datetime as dt
import re

from attrs import frozen

#: An agency id: letters, digits, ``.``, ``_`` and ``-``, at most 63 characters.
AGENCY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")

#: The id of the one agency of a ledger created without ``--agency``.
LOCAL_AGENCY = "local"


@frozen
class Agency:
    """One agency of a consortium's ledger (a ledger file has one)."""

    id: str
    name: str


@frozen
class Transfer:
    """A member's move from one agency to another, with their whole history."""

    id: int
    member: str
    from_agency: str
    to_agency: str
    at: dt.datetime


def check_agency_id(text: str) -> str:
    """``text`` if it is a valid agency id; ``ValueError`` naming it otherwise."""
    if not AGENCY_ID.fullmatch(text):
        raise ValueError(
            f"{text!r} is not an agency id (letters, digits, '.', '_' and '-', starting with a letter or "
            "digit, at most 63 characters)"
        )
    return text

"""How much an output shows about a person: the privacy levels every output (reports, check
results, calendar feeds) is written at, and the helpers that apply them to names.

A concept of the whole library, so it sits with the domain, where every layer can import it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence

from peertrain.rules.model import Member

__all__ = ["Privacy", "member_label", "redactor"]


class Privacy(enum.StrEnum):
    """How much a rendered output shows about a person."""

    FULL = "full"
    INITIALS = "initials"
    NONE = "none"


def member_label(member: Member, privacy: Privacy) -> str:
    """``id  Name`` / ``id  J. S.`` / ``id``, by privacy level."""
    if privacy is Privacy.FULL:
        return f"{member.id}  {member.name}"
    if privacy is Privacy.INITIALS:
        return f"{member.id}  {member.initials}"
    return member.id


def redactor(members: Sequence[Member], privacy: Privacy) -> Callable[[str], str]:
    """Replaces roster members' names in free text (e.g. who granted an exemption) as ``privacy``
    asks: with their initials, or with their id."""
    if privacy is Privacy.FULL or not members:
        return lambda text: text
    label = {m.name: m.initials if privacy is Privacy.INITIALS else m.id for m in members}
    names = sorted(label, key=len, reverse=True)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, names)) + r")(?!\w)")
    return lambda text: pattern.sub(lambda match: label[match.group(0)], text)

"""The errors peertrain raises on bad input.

Every error a user can cause by handing peertrain a bad file is a :class:`PeertrainError`, and says
*where* the problem is (file, row or key, field) in its message, so the command line can print it as
one line and exit with status 2 instead of showing a traceback.
"""

from __future__ import annotations

__all__ = ["CatalogError", "IcsError", "InputError", "PeertrainError"]


class PeertrainError(Exception):
    """Base class of every error caused by bad input to peertrain."""


class CatalogError(PeertrainError):
    """A course catalogue, track file or rule pack is invalid.

    ``source`` is the file (or other origin) and ``key`` the dotted path to the offending value,
    e.g. ``requirement[2].window.months``.
    """

    def __init__(self, source: str, key: str, message: str) -> None:
        self.source = source
        self.key = key
        self.message = message
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {message}")


class InputError(PeertrainError):
    """A roster, completions or exemptions file is invalid.

    ``row`` is the 1-based line number in the file as a spreadsheet shows it (the header is row 1),
    ``field`` the column name.
    """

    def __init__(
        self, source: str, message: str, *, row: int | None = None, field: str | None = None
    ) -> None:
        self.source = source
        self.row = row
        self.field = field
        self.message = message
        where = source
        if row is not None:
            where += f", row {row}"
        if field:
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")


class IcsError(PeertrainError):
    """An iCalendar (``.ics``) file cannot be read: too large, not text, not a calendar.

    ``line`` is the 1-based line in the file, when known; ``uid`` the event's UID, when the
    problem is one event's.
    """

    def __init__(self, source: str, message: str, *, line: int | None = None, uid: str | None = None) -> None:
        self.source = source
        self.line = line
        self.uid = uid
        self.message = message
        where = source
        if line is not None:
            where += f", line {line}"
        if uid is not None:
            where += f", event {uid!r}"
        super().__init__(f"{where}: {message}")

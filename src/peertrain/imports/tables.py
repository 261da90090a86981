"""Reading the simple CSV files ``peertrain check`` takes: roster, completions, exemptions.

The formats are documented in ``docs/cli.md``. Every problem is an
:class:`~peertrain.errors.InputError` naming the file, the row as a spreadsheet shows it (the
header is row 1) and the column. Rows are never skipped silently: a blank row is the only row
that is passed over.

Files may be UTF-8 (with or without the byte-order mark Excel writes) or, failing that,
Windows-1252 (Excel's "CSV" on US Windows).
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from peertrain._types import StrPath
from peertrain.errors import InputError
from peertrain.rules.catalog import Catalogue
from peertrain.rules.model import (
    Completion,
    Delivery,
    Function,
    Member,
    Role,
    Waiver,
    WaiverKind,
    _email,
    find_control_character,
    hours_from_ceu,
    parse_iso_date,
    to_hours,
)
from peertrain.rules.requirements import RulePack

__all__ = ["check_waivers", "read_completions", "read_roster", "read_waivers"]

T = TypeVar("T")
E = TypeVar("E", bound=enum.Enum)

ROSTER_COLUMNS = ("member_id", "name", "agency", "roles", "functions", "joined_on", "email", "portal_user_id")
COMPLETION_COLUMNS = (
    "completion_id", "member_id", "course", "completed_on", "hours", "ceu", "delivery", "provider",
)
WAIVER_COLUMNS = (
    "member_id", "pack", "requirement", "kind", "granted_by", "granted_on", "reason", "valid_until",
    "evidence",
)

def _refuse_non_text(path: Path, raw: bytes) -> None:
    """Refuse UTF-16 (Excel's "Unicode text": a byte-order mark, or NUL between ASCII letters), a
    workbook or other zip, and any other file with NUL bytes, saying what it looks like."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(str(path), "is UTF-16 text; save it as 'CSV UTF-8' instead")
    if raw.startswith(b"PK\x03\x04"):
        raise InputError(str(path), "is a zip file (an Excel workbook?), not CSV text; save it as 'CSV UTF-8'")
    nul = raw.find(b"\x00")
    if nul < 0:
        return
    head = raw[:4096]
    halves = (head[0::2], head[1::2])
    if any(len(half) >= 2 and half.count(0) == len(half) for half in halves) and not all(
        half.count(0) for half in halves
    ):
        raise InputError(str(path), "is UTF-16 text; save it as 'CSV UTF-8' instead")
    raise InputError(
        str(path), f"is not text: it holds a NUL byte (byte {nul}), as binary files do; save it as 'CSV UTF-8'"
    )


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(str(path), "no such file") from None
    except OSError as exc:
        raise InputError(str(path), f"cannot be read: {exc.strerror}") from None
    _refuse_non_text(path, raw)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise InputError(
            str(path), f"is neither UTF-8 nor Windows-1252 text (byte {exc.start}); save it as 'CSV UTF-8'"
        ) from None


class _Row:
    """One CSV record, with typed accessors whose errors name file, row and column."""

    def __init__(self, source: str, number: int, values: dict[str, str]) -> None:
        self.source, self.number, self.values = source, number, values

    def fail(self, column: str | None, message: str) -> InputError:
        return InputError(self.source, message, row=self.number, field=column)

    def text(self, column: str, *, required: bool = False) -> str | None:
        value = (self.values.get(column) or "").strip()
        found = find_control_character(value)
        if found is not None:
            raise self.fail(
                column, f"contains the control character {found}; a cell cannot hold line breaks, tabs or other "
                "control characters",
            )
        if not value:
            if required:
                raise self.fail(column, "is empty")
            return None
        return value

    def req(self, column: str) -> str:
        value = self.text(column, required=True)
        assert value is not None
        return value

    def date(self, column: str, *, required: bool = False) -> dt.date | None:
        value = self.text(column, required=required)
        if value is None:
            return None
        try:
            return parse_iso_date(value)
        except ValueError as exc:
            raise self.fail(column, str(exc)) from None

    def items(self, column: str) -> list[str]:
        value = self.text(column) or ""
        return [part.strip() for part in value.replace("|", ";").split(";") if part.strip()]

    def convert(self, column: str, make: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``make(*args, **kwargs)``, with a ValueError or TypeError reported at ``column``."""
        try:
            return make(*args, **kwargs)
        except (ValueError, TypeError) as exc:
            raise self.fail(column, str(exc)) from None


def _rows(path: StrPath, known: Sequence[str], required: Sequence[str]) -> Iterator[_Row]:
    path = Path(path)
    text = _decode(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    source = str(path)
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(source, "is empty; expected a header row") from None
    except csv.Error as exc:
        raise InputError(source, f"is not valid CSV: {exc}", row=1) from None
    columns = [h.strip().lower() for h in header]
    unknown = [c for c in columns if c and c not in known]
    if unknown:
        raise InputError(
            source, f"unknown column {unknown[0]!r}; the columns are: {', '.join(known)}", row=1
        )
    for column in required:
        if column not in columns:
            raise InputError(source, f"missing the column {column!r}", row=1)
    seen = [c for c in columns if c]
    duplicated = {c for c in seen if seen.count(c) > 1}
    if duplicated:
        raise InputError(source, f"the column {sorted(duplicated)[0]!r} appears twice", row=1)
    number = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise InputError(source, f"is not valid CSV: {exc}", row=number + 1) from None
        number += 1
        if not any(cell.strip() for cell in record):
            continue
        if len(record) > len(columns):
            extra = [cell for cell in record[len(columns):] if cell.strip()]
            if extra:
                raise InputError(
                    source, f"has {len(record)} cells but the header has {len(columns)}", row=number
                )
        yield _Row(source, number, dict(zip(columns, record, strict=False)))


def read_roster(path: StrPath) -> list[Member]:
    """Members from a roster CSV (columns: ``member_id``, ``name``, and optional ``agency``,
    ``roles``, ``functions``, ``joined_on``, ``email``, ``portal_user_id``; lists separated by
    ``;``). Member ids and emails must be unique."""
    members: list[Member] = []
    ids: dict[str, int] = {}
    emails: dict[str, int] = {}
    for row in _rows(path, ROSTER_COLUMNS, ("member_id", "name")):
        member_id = row.req("member_id")
        if member_id in ids:
            raise row.fail("member_id", f"{member_id!r} is already used in row {ids[member_id]}")
        ids[member_id] = row.number
        roles = [row.convert("roles", _choice, Role, v) for v in row.items("roles")]
        functions = [row.convert("functions", _choice, Function, v) for v in row.items("functions")]
        email = row.convert("email", _email, row.text("email"))
        member = row.convert(
            "name",
            Member,
            id=member_id,
            name=row.req("name"),
            agency=row.text("agency") or "",
            roles=roles or ["peer_supporter"],
            functions=functions,
            joined_on=row.date("joined_on"),
            email=email,
            portal_user_id=row.text("portal_user_id"),
        )
        if member.email:
            if member.email in emails:
                raise row.fail("email", f"{member.email!r} is already used in row {emails[member.email]}")
            emails[member.email] = row.number
        members.append(member)
    return members


def _choice(kind: type[E], value: str) -> E:
    try:
        return kind(value.strip().lower().replace(" ", "_").replace("-", "_"))
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise ValueError(f"{value!r} is not one of: {allowed}") from None


def _hours(row: _Row) -> Any:
    hours, ceu = row.text("hours"), row.text("ceu")
    if hours is not None and ceu is not None:
        raise row.fail("ceu", "give hours or ceu, not both")
    if ceu is not None:
        return row.convert("ceu", hours_from_ceu, ceu)
    if hours is not None:
        return row.convert("hours", to_hours, hours)
    return None


def read_completions(
    path: StrPath, catalogue: Catalogue, members: Sequence[Member] | None = None
) -> list[Completion]:
    """Completions from a completions CSV.

    ``course`` may be a catalogue id, title or alias (case and spacing do not matter). ``hours``
    or ``ceu`` (1 CEU = 10 h) may be given; when neither is, the catalogue's hours count.
    ``completion_id`` is optional: without it a completion's id is ``member/course/date``. If
    ``members`` is given, every ``member_id`` must be one of them.
    """
    path = Path(path)
    known = {m.id for m in members} if members is not None else None
    result: list[Completion] = []
    ids: dict[str, int] = {}
    for row in _rows(path, COMPLETION_COLUMNS, ("member_id", "course", "completed_on")):
        member_id = row.req("member_id")
        if known is not None and member_id not in known:
            raise row.fail("member_id", f"{member_id!r} is not on the roster")
        name = row.req("course")
        course = catalogue.find(name)
        if course is None:
            raise row.fail("course", f"{name!r} is not a course id, title or alias in the catalogue")
        completed_on = row.date("completed_on", required=True)
        assert completed_on is not None
        completion_id = row.text("completion_id") or f"{member_id}/{course.id}/{completed_on.isoformat()}"
        if completion_id in ids:
            raise row.fail(
                "completion_id",
                f"{completion_id!r} repeats row {ids[completion_id]} (the same member, course and "
                "date, or the same id); give each real completion its own completion_id",
            )
        ids[completion_id] = row.number
        delivery = row.text("delivery")
        result.append(
            row.convert(
                "delivery",
                Completion,
                id=completion_id,
                member=member_id,
                course=course.id,
                completed_on=completed_on,
                hours=_hours(row),
                delivery=row.convert("delivery", _choice, Delivery, delivery) if delivery else None,
                provider=row.text("provider"),
                source=f"{path.name}:{row.number}",
            )
        )
    return result


def read_waivers(path: StrPath, members: Sequence[Member] | None = None) -> list[Waiver]:
    """Exemptions and equivalencies from a CSV (see ``docs/cli.md``). Each waiver's ``source``
    is ``file:row``, so later checks (:func:`check_waivers`) can name the row."""
    path = Path(path)
    known = {m.id for m in members} if members is not None else None
    result: list[Waiver] = []
    required = ("member_id", "pack", "requirement", "kind", "granted_by", "granted_on", "reason")
    for row in _rows(path, WAIVER_COLUMNS, required):
        member_id = row.req("member_id")
        if known is not None and member_id not in known:
            raise row.fail("member_id", f"{member_id!r} is not on the roster")
        granted_on = row.date("granted_on", required=True)
        result.append(
            row.convert(
                "valid_until",
                Waiver,
                member=member_id,
                pack=row.req("pack"),
                requirement=row.req("requirement"),
                kind=row.convert("kind", _choice, WaiverKind, row.req("kind")),
                granted_by=row.req("granted_by"),
                granted_on=granted_on,
                reason=row.req("reason"),
                valid_until=row.date("valid_until"),
                evidence=row.items("evidence"),
                source=f"{path}:{row.number}",
            )
        )
    return result


def check_waivers(
    waivers: Sequence[Waiver], packs: Sequence[RulePack], completion_ids: Collection[str]
) -> list[str]:
    """Check exemptions against the packs being evaluated and the completions on record.

    A waiver for a requirement its pack does not have, or naming evidence that is not a known
    completion id, is an :class:`InputError` at its row. A waiver for a pack that is not being
    checked is returned as a warning (it may be meant for another run, or be a typo).
    """
    by_id = {p.id: p for p in packs}
    warnings = []
    for waiver in waivers:
        file, _, row_text = waiver.source.rpartition(":")
        row = int(row_text) if row_text.isdigit() else None
        where = file or waiver.source or "exemptions"
        pack = by_id.get(waiver.pack)
        if pack is None:
            checked = ", ".join(by_id)
            warnings.append(
                f"{waiver.source or 'exemption'}: pack {waiver.pack!r} is not among the packs checked "
                f"({checked}); this {waiver.kind.value} is not used"
            )
            continue
        ids = [r.id for r in pack.requirements]
        if waiver.requirement not in ids:
            message = f"pack {pack.id!r} has no requirement {waiver.requirement!r} (it has: {', '.join(ids)})"
            raise InputError(where, message, row=row, field="requirement")
        for evidence in waiver.evidence:
            if evidence not in completion_ids:
                message = f"{evidence!r} is not a completion id on record"
                raise InputError(where, message, row=row, field="evidence")
    return warnings

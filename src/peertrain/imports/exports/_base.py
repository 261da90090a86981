"""What every export reader shares: the row type, the error, the limits and header matching."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence

from attrs import define, frozen

from peertrain.errors import InputError
from peertrain.imports.profiles import Profile

__all__ = [
    "MAX_XLSX_BYTES",
    "MAX_XLSX_ENTRIES",
    "MAX_XLSX_RATIO",
    "MAX_XML_BYTES",
    "RATIO_CHECK_BYTES",
    "ExportError",
    "Limits",
    "RawRow",
    "ReadInfo",
    "column_indexes",
    "fold_header",
]

#: XLSX: the most zip entries a workbook may have.
MAX_XLSX_ENTRIES = 10_000
#: XLSX: the most bytes all zip entries may expand to (``PEERTRAIN_MAX_XLSX_BYTES`` overrides).
MAX_XLSX_BYTES = 512 * 1024 * 1024
#: XLSX: the highest compression ratio allowed for an entry larger than :data:`RATIO_CHECK_BYTES`.
MAX_XLSX_RATIO = 100
#: XLSX: entries up to this size are not ratio-checked (small XML parts compress very well).
RATIO_CHECK_BYTES = 1024 * 1024
#: XML: the largest file read (``PEERTRAIN_MAX_XML_BYTES`` overrides).
MAX_XML_BYTES = 1024 * 1024 * 1024


class ExportError(InputError):
    """An export file cannot be read at all (bad encoding, broken CSV, hostile or corrupt file)."""


@frozen
class RawRow:
    """One row (CSV, XLSX) or record (XML) of an export, before any value is interpreted.

    ``number`` is the row number a spreadsheet shows (the header is row 1) for CSV and XLSX, the
    1-based ordinal of the record element for XML. ``values`` maps each field the profile maps to
    the raw value: ``str`` or ``None`` (empty) from CSV and XML; ``str``, ``int``, ``float``,
    ``datetime``, ``date``, ``time``, ``bool`` or ``None`` from XLSX. ``raw`` is the whole row as
    text, extra cells included, for reject reports (for XML: the mapped values, in the profile's
    field order). ``epoch`` is the workbook's date system for
    XLSX rows (pass it to :func:`~peertrain.imports.exports.values.parse_date`), else ``None``.
    """

    source: str
    number: int
    values: Mapping[str, object]
    raw: tuple[str, ...]
    epoch: dt.datetime | None = None


@define
class ReadInfo:
    """What a reader learned about the file: filled in as soon as the header has been read."""

    #: CSV: the codec used (``utf-8-sig``, ``utf-16``, ``cp1252`` or the profile's).
    encoding: str | None = None
    #: CSV: the separator used.
    delimiter: str | None = None
    #: XLSX: the workbook's date system (1899-12-30 for 1900, 1904-01-01 for 1904).
    epoch: dt.datetime | None = None
    #: XLSX: the worksheet read.
    sheet: str | None = None
    #: CSV and XLSX: the header cells as text, and their row number.
    header: tuple[str, ...] = ()
    header_row: int | None = None
    #: CSV: ``(field, column index)`` of each field the profile maps, in the profile's order.
    columns: tuple[tuple[str, int], ...] = ()


def _env_int(name: str, default: int) -> int:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise InputError(
            f"environment variable {name}", f"must be a positive whole number of bytes, got {text!r}"
        )
    return value


@frozen(kw_only=True)
class Limits:
    """The caps the readers enforce on untrusted files (tests lower them)."""

    xlsx_entries: int = MAX_XLSX_ENTRIES
    xlsx_bytes: int = MAX_XLSX_BYTES
    xlsx_ratio: int = MAX_XLSX_RATIO
    ratio_check_bytes: int = RATIO_CHECK_BYTES
    xml_bytes: int = MAX_XML_BYTES

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, with ``PEERTRAIN_MAX_XLSX_BYTES`` / ``PEERTRAIN_MAX_XML_BYTES`` applied."""
        return cls(
            xlsx_bytes=_env_int("PEERTRAIN_MAX_XLSX_BYTES", MAX_XLSX_BYTES),
            xml_bytes=_env_int("PEERTRAIN_MAX_XML_BYTES", MAX_XML_BYTES),
        )


def fold_header(text: object) -> str:
    """How headers are compared: case-folded, inner whitespace collapsed, BOM and ends stripped."""
    if text is None:
        return ""
    return " ".join(str(text).replace("\ufeff", "").casefold().split())


def column_indexes(
    source: str, profile: Profile, header: Sequence[object], row: int
) -> list[tuple[str, int]]:
    """``(field, column index)`` for every field the profile maps, found in ``header``.

    A mapped column missing from the header, or present twice, is an :class:`ExportError` naming the
    file, the header row, the field and the column looked for.
    """
    positions: dict[str, list[int]] = {}
    for index, cell in enumerate(header):
        positions.setdefault(fold_header(cell), []).append(index)
    found: list[tuple[str, int]] = []
    for field, column in profile.fields.items():
        hits = positions.get(fold_header(column), [])
        if not hits:
            raise ExportError(
                source,
                f"no column {column!r} in the header (profile {profile.id!r} maps it to {field}); "
                f"the header has: {', '.join(repr(str(c)) for c in header if fold_header(c))[:400]}",
                row=row,
                field=field,
            )
        if len(hits) > 1:
            raise ExportError(
                source,
                f"the column {column!r} appears {len(hits)} times in the header; "
                "peertrain will not guess which one is meant",
                row=row,
                field=field,
            )
        found.append((field, hits[0]))
    return found

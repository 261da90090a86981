"""Reading XLSX exports: the zip checked for decompression bombs, then rows streamed by openpyxl.

An XLSX file is a zip of XML parts. Before openpyxl sees it, the zip's central directory is
checked: at most :data:`~peertrain.imports.exports.MAX_XLSX_ENTRIES` entries, at most
:data:`~peertrain.imports.exports.MAX_XLSX_BYTES` uncompressed in total, and no entry over 1 MiB that
expands more than 100:1. (``zipfile`` stops every entry at its declared size, so the declared
sizes checked here are the most that can come out.) openpyxl then reads the sheet in read-only
mode, through defusedxml, which refuses DTDs and entity declarations inside the parts.
"""

from __future__ import annotations

import datetime as dt
import importlib
import itertools
import struct
import warnings
import zipfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from peertrain._files import shown
from peertrain.imports.exports._base import ExportError, Limits, RawRow, ReadInfo, column_indexes
from peertrain.imports.profiles import Profile

__all__ = ["check_xlsx_zip", "iter_xlsx"]

T = TypeVar("T")
_BATCH = 512
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def check_xlsx_zip(path: Path, limits: Limits | None = None) -> None:
    """Refuse (:class:`ExportError`) a file that is not a zip, or a zip that could be a bomb."""
    limits = limits or Limits.from_env()
    where = shown(path)
    try:
        with path.open("rb") as handle:
            magic = handle.read(8)
            if magic == _OLE_MAGIC:
                raise ExportError(
                    where,
                    "is an old-style .xls workbook or a password-protected one, not an XLSX file: "
                    "open it in Excel and save it as .xlsx without a password",
                )
            if not magic.startswith(b"PK"):
                raise ExportError(where, "is not an XLSX file (an XLSX file is a zip archive, this is not)")
            with zipfile.ZipFile(handle) as archive:
                entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, struct.error, OverflowError) as exc:
        raise ExportError(where, f"is not an XLSX file (a broken zip archive: {exc})") from None
    except NotImplementedError as exc:  # e.g. "zip file version 23.4"
        raise ExportError(where, f"is not an XLSX file peertrain can read (unsupported zip: {exc})") from None
    except OSError as exc:
        raise ExportError(where, f"cannot read the file: {exc.strerror or exc}") from None
    if len(entries) > limits.xlsx_entries:
        raise ExportError(
            where, f"refused: the workbook has {len(entries):,} zip entries (at most {limits.xlsx_entries:,})"
        )
    total = sum(entry.file_size for entry in entries)
    if total > limits.xlsx_bytes:
        raise ExportError(
            where,
            f"refused: the workbook would expand to {total:,} bytes (at most {limits.xlsx_bytes:,}; "
            "set PEERTRAIN_MAX_XLSX_BYTES to allow more)",
        )
    for entry in entries:
        if entry.file_size <= limits.ratio_check_bytes:
            continue
        ratio = entry.file_size / max(entry.compress_size, 1)
        if ratio > limits.xlsx_ratio:
            raise ExportError(
                where,
                f"refused as a possible zip bomb: {entry.filename!r} expands {ratio:,.0f}:1 "
                f"to {entry.file_size:,} bytes (at most {limits.xlsx_ratio}:1)",
            )


def _quietly(where: str, what: str, call: Callable[[], T]) -> T:
    """Call into openpyxl with its warnings silenced and any failure reported as an ExportError.

    openpyxl raises a zoo of exception types on a malformed workbook (KeyError for a missing part,
    ValueError, TypeError, zipfile and XML errors, defusedxml's refusals); from a user's point of
    view every one of them means "this file is not a workbook peertrain can read".
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return call()
    except ExportError:
        raise
    except Exception as exc:
        detail = str(exc) or type(exc).__name__
        raise ExportError(where, f"{what}: {detail[:300]}") from None


def cell_text(value: object) -> str:
    """A cell value as the text a reject report shows."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _blank(row: Sequence[object]) -> bool:
    return all(value is None or (isinstance(value, str) and not value.strip()) for value in row)


def iter_xlsx(path: Path, profile: Profile, info: ReadInfo, limits: Limits | None = None) -> Iterator[RawRow]:
    """The data rows of the profile's worksheet (or the first), streamed; see the module docs."""
    openpyxl: Any = importlib.import_module("openpyxl")  # untyped: no stubs are installed
    read_only_sheet: Any = importlib.import_module("openpyxl.worksheet._read_only").ReadOnlyWorksheet
    where, name = shown(path), shown(path.name)
    check_xlsx_zip(path, limits)
    try:
        handle = path.open("rb")
    except OSError as exc:  # pragma: no cover - check_xlsx_zip has just opened it
        raise ExportError(where, f"cannot read the file: {exc.strerror or exc}") from None
    with handle:
        workbook: Any = _quietly(
            where,
            "is not a workbook peertrain can read",
            lambda: openpyxl.load_workbook(handle, read_only=True, data_only=True, keep_links=False),
        )
        try:
            if profile.sheet is not None:
                if profile.sheet not in workbook.sheetnames:
                    raise ExportError(
                        where,
                        f"has no worksheet {profile.sheet!r}; "
                        f"its sheets are: {', '.join(workbook.sheetnames)}",
                    )
                sheet = workbook[profile.sheet]
            elif workbook.worksheets:
                sheet = workbook.worksheets[0]
            else:
                raise ExportError(where, "has no worksheet")
            if not isinstance(sheet, read_only_sheet):
                raise ExportError(where, f"the sheet {sheet.title!r} is not a worksheet (a chart sheet?)")
            info.epoch, info.sheet = workbook.epoch, sheet.title
            epoch: dt.datetime = workbook.epoch
            # Ignore the sheet's declared dimension: a wrong or hostile one would pad every row.
            sheet.reset_dimensions()
            rows: Iterator[tuple[object, ...]] = sheet.iter_rows(values_only=True)
            number = 0
            fields: list[tuple[str, int]] | None = None
            while batch := _quietly(
                where, f"is corrupt after row {number}", lambda: list(itertools.islice(rows, _BATCH))
            ):
                for row in batch:
                    number += 1
                    if _blank(row):
                        continue
                    if fields is None:
                        info.header = tuple(cell_text(v) for v in row)
                        info.header_row = number
                        fields = column_indexes(where, profile, row, number)
                        continue
                    size = len(row)
                    values: dict[str, object] = {}
                    for field, i in fields:
                        value = row[i] if i < size else None
                        values[field] = None if value == "" else value
                    yield RawRow(name, number, values, tuple(cell_text(v) for v in row), epoch)
            if fields is None:
                raise ExportError(where, f"the sheet {sheet.title!r} has no header row (it is empty)", row=1)
        finally:
            workbook.close()

"""Reading training-portal exports safely: CSV, XLSX and XML, streamed row by row.

>>> from peertrain.imports.exports import iter_rows                          # doctest: +SKIP
>>> from peertrain.imports.profiles import load_profile                      # doctest: +SKIP
>>> for row in iter_rows(Path("transcript.csv"), load_profile("cops-portal-csv")):  # doctest: +SKIP
...     row.number, row.values["email"]

Each reader streams: memory stays bounded however many rows a file has. Each yields
:class:`RawRow` objects holding the raw values of the fields the profile maps; interpreting them
(dates, hours, statuses) is :mod:`peertrain.imports.exports.values`' job, so that one bad value rejects
one row, not the file. A file that cannot be read at all -- broken encoding or CSV quoting,
not a zip, a zip bomb, XML with a DOCTYPE, malformed XML, a mapped column missing -- raises
:class:`ExportError`, naming the file (and the row or line where that is known).

Headers are matched to the profile's columns case-insensitively with whitespace collapsed. Blank
rows (every cell empty or whitespace) are skipped but still counted, so row numbers are the ones a
spreadsheet shows (the header is row 1; an Excel ``sep=`` line is not a row).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from peertrain._types import StrPath
from peertrain.imports.exports._base import (
    MAX_XLSX_BYTES,
    MAX_XLSX_ENTRIES,
    MAX_XLSX_RATIO,
    MAX_XML_BYTES,
    RATIO_CHECK_BYTES,
    ExportError,
    Limits,
    RawRow,
    ReadInfo,
)
from peertrain.imports.exports._csvfile import detect_delimiter, detect_encoding, iter_csv
from peertrain.imports.exports._xlsxfile import check_xlsx_zip, iter_xlsx
from peertrain.imports.exports._xmlfile import check_xml_prolog, iter_xml
from peertrain.imports.profiles import ExportFormat, Profile

__all__ = [
    "MAX_XLSX_BYTES",
    "MAX_XLSX_ENTRIES",
    "MAX_XLSX_RATIO",
    "MAX_XML_BYTES",
    "RATIO_CHECK_BYTES",
    "ExportError",
    "ExportReader",
    "Limits",
    "RawRow",
    "ReadInfo",
    "check_xlsx_zip",
    "check_xml_prolog",
    "detect_delimiter",
    "detect_encoding",
    "iter_rows",
    "open_export",
]


class ExportReader:
    """One export file read with one profile: iterate it for the rows.

    ``info`` (:class:`ReadInfo`) says what was found -- the encoding and separator of a CSV, the
    sheet and date system (``epoch``) of a workbook, the header -- once the first row has been
    drawn (or the file turned out to have none). Iterating a reader twice reads the file twice.
    """

    def __init__(self, path: StrPath, profile: Profile, *, limits: Limits | None = None) -> None:
        self.path = Path(path)
        self.profile = profile
        self.limits = limits
        self.info = ReadInfo()

    def __iter__(self) -> Iterator[RawRow]:
        self.info = ReadInfo()
        if self.profile.format is ExportFormat.CSV:
            return iter_csv(self.path, self.profile, self.info)
        if self.profile.format is ExportFormat.XLSX:
            return iter_xlsx(self.path, self.profile, self.info, self.limits)
        return iter_xml(self.path, self.profile, self.limits)

    @property
    def encoding(self) -> str | None:
        """CSV: the codec the file was read with."""
        return self.info.encoding

    @property
    def delimiter(self) -> str | None:
        """CSV: the separator the file was read with."""
        return self.info.delimiter


def open_export(path: StrPath, profile: Profile, *, limits: Limits | None = None) -> ExportReader:
    """A reader for the export at ``path``; nothing is read until it is iterated."""
    return ExportReader(path, profile, limits=limits)


def iter_rows(path: StrPath, profile: Profile, *, limits: Limits | None = None) -> Iterator[RawRow]:
    """The rows of the export at ``path`` read with ``profile``, streamed (see the module docs).

    Raises :class:`ExportError` (during iteration) when the file cannot be read at all.
    """
    return iter(ExportReader(path, profile, limits=limits))

"""Reading CSV exports: the encoding and the separator decided up front, then rows streamed.

Encodings (``encoding = "auto"``): a UTF-8 byte-order mark means UTF-8; an ``FF FE`` or ``FE FF``
mark means UTF-16 (Excel's "Unicode text"); otherwise the whole file is pre-scanned in 64 KiB
chunks with an incremental UTF-8 decoder, and a file that is not valid UTF-8 is read as
Windows-1252 (what Excel writes on US and Western European Windows). A file that is neither is
refused. Separators (``delimiter = "auto"``): a first line ``sep=;`` (written by Excel) is obeyed
and is not a row; otherwise the header line decides between ``,``, ``;`` and tab by counting
them outside quotes.
"""

from __future__ import annotations

import codecs
import csv
import itertools
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from peertrain._files import shown
from peertrain.imports.exports._base import ExportError, RawRow, ReadInfo, column_indexes
from peertrain.imports.profiles import Profile

__all__ = ["MAX_LINE_CHARS", "detect_delimiter", "detect_encoding", "iter_csv", "iter_csv_cells", "raw_row"]

_CHUNK = 64 * 1024
#: The longest physical line read (a file without line breaks is not a CSV export).
MAX_LINE_CHARS = 1024 * 1024
# Bytes that Windows-1252 leaves undefined: a file holding one is not cp1252 text.
_CP1252_UNDEFINED = (b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d")
_SEP_LINE = re.compile(r"sep=([^\r\n\"])[\r\n]*", re.IGNORECASE)
_QUOTED = re.compile(r'"[^"]*"')
_CANDIDATES = (",", ";", "\t")
_NUL = "contains a NUL character: not a text CSV file (a UTF-16 file without its byte-order mark?)"


def detect_encoding(path: Path) -> str:
    """The codec to read the CSV file at ``path`` with: ``utf-8-sig``, ``utf-16`` or ``cp1252``.

    Streams the file once in binary chunks; never holds more than one chunk. Raises
    :class:`ExportError` when the file cannot be opened or is neither UTF-8 nor Windows-1252.
    """
    return _scan(path)[0]


def _scan(path: Path) -> tuple[str, bool, bool]:
    """The codec (see :func:`detect_encoding`), whether every line is surely shorter than
    :data:`MAX_LINE_CHARS` (then the file can be read without checking each line), and whether
    the file surely holds no NUL (then no row needs checking for one)."""
    utf8 = cp1252 = True
    nul = False
    run = longest_run = 0  # bytes since the last line break, counted in whole chunks
    try:
        with path.open("rb") as handle:
            chunk = handle.read(_CHUNK)
            if chunk.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
                return "utf-16", False, False  # line breaks and NULs are not byte-wise: check each line
            bom = chunk.startswith(codecs.BOM_UTF8)  # trusted: decoding errors are reported per row
            decoder = codecs.getincrementaldecoder("utf-8")()
            while chunk:
                if utf8 and not bom:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError:
                        utf8 = False
                if cp1252 and not bom and any(byte in chunk for byte in _CP1252_UNDEFINED):
                    cp1252 = False
                if not (utf8 or cp1252):
                    break
                nul = nul or b"\x00" in chunk
                run = 0 if b"\n" in chunk or b"\r" in chunk else run + len(chunk)
                longest_run = max(longest_run, run)
                chunk = handle.read(_CHUNK)
            if utf8 and not bom:
                try:
                    decoder.decode(b"", final=True)
                except UnicodeDecodeError:
                    utf8 = False
    except OSError as exc:
        raise ExportError(shown(path), f"cannot read the file: {exc.strerror or exc}") from None
    short_lines = longest_run + 2 * _CHUNK < MAX_LINE_CHARS
    if utf8:
        return "utf-8-sig", short_lines, not nul
    if cp1252:
        return "cp1252", short_lines, not nul
    raise ExportError(
        shown(path),
        "is not text peertrain can read: neither UTF-8, nor UTF-16 with a byte-order mark, nor Windows-1252",
    )


def detect_delimiter(header_line: str) -> str:
    """The separator a header line uses: the most frequent of ``,`` ``;`` tab outside quotes
    (``,`` on a tie or when there is none, i.e. a one-column file)."""
    bare = _QUOTED.sub("", header_line)
    counts = [(bare.count(sep), -rank, sep) for rank, sep in enumerate(_CANDIDATES)]
    best = max(counts)
    return best[2] if best[0] else ","


def _codec(profile: Profile, path: Path) -> tuple[str, bool, bool]:
    if profile.encoding == "auto":
        return _scan(path)
    try:
        name = codecs.lookup(profile.encoding).name
    except LookupError:
        raise ExportError(shown(path), f"the profile names an unknown encoding {profile.encoding!r}") from None
    # A UTF-8 file may still start with a byte-order mark: never let it into the first header.
    return ("utf-8-sig" if name == "utf-8" else profile.encoding), False, False


def _lines(handle: TextIO, where: str, short_lines: bool) -> Iterator[str]:
    """The file's physical lines, refusing one longer than :data:`MAX_LINE_CHARS`."""
    if short_lines:  # the pre-scan saw a line break at least every MAX_LINE_CHARS bytes
        return handle
    return _checked_lines(handle, where)


def _checked_lines(handle: TextIO, where: str) -> Iterator[str]:
    readline = handle.readline
    while line := readline(MAX_LINE_CHARS):
        if len(line) == MAX_LINE_CHARS and line[-1] not in "\r\n":
            raise ExportError(where, f"a line is longer than {MAX_LINE_CHARS:,} characters: not a CSV export")
        yield line


def _reader(lines: Iterator[str], profile: Profile, info: ReadInfo) -> Iterator[list[str]]:
    """A csv reader over the lines, after an Excel ``sep=`` line and with the separator decided."""
    first = next(lines, None)
    sep = _SEP_LINE.fullmatch(first) if first is not None else None
    peeked: list[str] = [first] if sep is None and first is not None else []
    delimiter = profile.delimiter
    if delimiter == "auto":
        if sep is not None:
            delimiter = sep[1]
        else:
            while peeked and not peeked[-1].strip() and (line := next(lines, None)) is not None:
                peeked.append(line)
            delimiter = detect_delimiter(peeked[-1] if peeked else "")
    info.delimiter = delimiter
    return csv.reader(itertools.chain(peeked, lines), delimiter=delimiter)


def iter_csv(path: Path, profile: Profile, info: ReadInfo) -> Iterator[RawRow]:
    """The data rows of a CSV export, streamed (see the module docs)."""
    name = shown(path.name)
    fields: tuple[tuple[str, int], ...] = ()
    for number, cells in iter_csv_cells(path, profile, info):
        if not fields:
            fields = info.columns
        size = len(cells)
        values = {field: (cells[i] or None) if i < size else None for field, i in fields}
        yield RawRow(name, number, values, tuple(cells))


def raw_row(name: str, number: int, cells: list[str], fields: Sequence[tuple[str, int]]) -> RawRow:
    """The :class:`RawRow` of one row's cells (``fields`` are ``(field, column index)`` pairs)."""
    size = len(cells)
    values = {field: (cells[i] or None) if i < size else None for field, i in fields}
    return RawRow(name, number, values, tuple(cells))


def iter_csv_cells(path: Path, profile: Profile, info: ReadInfo) -> Iterator[tuple[int, list[str]]]:
    """``(row number, cells)`` of each data row that is not blank, streamed: :func:`iter_csv`
    without the :class:`RawRow` (for the importer's fast path). The header's field columns are
    in ``info.columns`` once the first row has been drawn; errors are the same as iter_csv's."""
    where = shown(path)
    encoding, short_lines, no_nul = _codec(profile, path)
    info.encoding = encoding
    number = 0
    try:
        handle = path.open("r", encoding=encoding, newline="")
    except OSError as exc:
        raise ExportError(where, f"cannot read the file: {exc.strerror or exc}") from None
    with handle:
        try:
            reader = _reader(_lines(handle, where, short_lines), profile, info)
            header: list[str] | None = None
            for cells in reader:
                number += 1
                joined = "".join(cells)
                if "\x00" in joined:
                    raise ExportError(where, _NUL, row=number)
                if joined.strip():
                    header = cells
                    break
            if header is None:
                raise ExportError(where, "the file has no header row (it is empty)", row=1)
            info.header, info.header_row = tuple(header), number
            info.columns = tuple(column_indexes(where, profile, header, number))
            for cells in reader:
                number += 1
                if no_nul and cells and cells[0] and not cells[0].isspace():
                    yield number, cells  # the common row: not blank, and the file holds no NUL
                    continue
                joined = "".join(cells)
                if not joined or joined.isspace():
                    continue
                if "\x00" in joined:
                    raise ExportError(where, _NUL, row=number)
                yield number, cells
        except csv.Error as exc:
            raise ExportError(where, f"not readable as CSV: {exc}", row=number + 1) from None
        except UnicodeError as exc:  # decoded ahead of the rows: find the line again
            detail = exc.reason if isinstance(exc, UnicodeDecodeError) else str(exc)
            raise ExportError(where, f"not valid {encoding} text{_undecodable(path, encoding)}: {detail}") from None


def _undecodable(path: Path, encoding: str) -> str:
    """Where the first byte that does not decode is: `` at line N of the file`` (or "")."""
    if "16" in encoding or "32" in encoding:  # multi-byte units: lines cannot be split byte-wise
        return ""
    try:
        with path.open("rb") as handle:
            for number, raw in enumerate(iter(lambda: handle.readline(4 * MAX_LINE_CHARS), b""), start=1):
                try:
                    raw.decode(encoding)
                except UnicodeDecodeError as exc:
                    return f" at line {number} of the file (byte {exc.start + 1} of the line)"
    except OSError:  # pragma: no cover - the file was readable a moment ago
        pass
    return ""

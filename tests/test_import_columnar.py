"""The CSV import's columnar path gives every row exactly the outcome the general path gives.

The columnar path (:mod:`peertrain.imports._columnar`) reads plain CSV files in Arrow batches,
classifies each distinct value once and joins rows to the answers, and stores through ADBC. It is
run over random files that it accepts (cells kept free of quotes and line breaks) with tiny
batches and runs, and must store the same records, held rows, rejects and counts as the general
path, byte for byte; the files it must leave to the fast path are refused by :func:`layout`.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any
from unittest import mock

import pyarrow as pa
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import peertrain.imports._columnar
from peertrain.imports._columnar import layout
from peertrain.imports.importer import import_file
from peertrain.ledger import open_ledger
from peertrain.ledger._chain import _json, _Rows
from peertrain.ledger._digest import held_digest, records_digest
from peertrain.ledger._pgschema import journal as pg_journal
from peertrain.ledger._schema import journal
from test_import import CATALOGUE, COPS, COPS_HEADER, NOW, ROSTER, export_rows, new_ledger, write_export
from test_import_fast import ZONES, small_steps, stored


def plain(rows: list[list[str]]) -> list[list[str]]:
    """The rows with what the columnar path leaves to the fast path taken out of the cells
    (quotes, separators, line breaks), and no empty line."""
    table = str.maketrans({'"': "'", ",": ";", "\n": " ", "\r": " ", "\x1f": " ", "\x00": " "})
    return [[cell.translate(table) for cell in row] if row not in ([], [""]) else [" "] for row in rows]


def journal_of(ledger: object) -> list[Any]:
    """The journal's entries of a ledger file."""
    return journal(ledger._db).entries()  # type: ignore[attr-defined]


def import_both(path: Path, timezone: str) -> tuple[object, object]:
    """What the columnar path and the general path store for ``path``."""
    taken: list[bool] = []
    chunks = peertrain.imports._columnar._Columnar.chunks

    def spy(self: peertrain.imports._columnar._Columnar):  # type: ignore[no-untyped-def]
        taken.append(True)
        return chunks(self)

    with tempfile.TemporaryDirectory() as folder:
        columnar = new_ledger(Path(folder) / "columnar.db", timezone=timezone)
        general = new_ledger(Path(folder) / "general.db", timezone=timezone)
        try:
            with small_steps(fast=True, columnar=True), mock.patch.object(
                peertrain.imports._columnar._Columnar, "chunks", spy
            ):
                import_file(columnar, COPS, path, CATALOGUE, now=NOW)
                assert taken, "the columnar path was not taken"
                import_file(columnar, COPS, path, CATALOGUE, now=NOW)  # again: all duplicates
            with small_steps(fast=False):
                import_file(general, COPS, path, CATALOGUE, now=NOW)
                import_file(general, COPS, path, CATALOGUE, now=NOW)
            # The same journal too: the columnar path journals its batch as the others do.
            assert columnar.verify().ok
            entries = [(e.seq, e.kind, e.ref, e.content_sha256) for e in journal_of(columnar)]
            assert entries == [(e.seq, e.kind, e.ref, e.content_sha256) for e in journal_of(general)]
            return stored(columnar), stored(general)
        finally:
            columnar.close()
            general.close()


@settings(max_examples=60, deadline=None)
@given(st.lists(export_rows(), max_size=25), st.sampled_from(ZONES), st.booleans())
def test_columnar_path_matches_general_path_on_random_exports(
    rows: list[list[str]], timezone: str, bom: bool
) -> None:
    """Random exports (good and bad values, short, long and blank-looking rows, repeats): the
    columnar path stores exactly what the general path stores, imports and re-imports."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        write_export(path, plain(rows), bom)
        assert layout(path, COPS) is not None
        columnar, general = import_both(path, timezone)
        assert columnar == general


def test_columnar_path_matches_on_repeats_across_batches(tmp_path: Path) -> None:
    """Rows repeated across batches and runs: the first in input order is imported, and held rows
    keep the first origin, as on the general path."""
    row = ["Dana Whitfield", "dana.whitfield@pinelake.example", "Pine Lake PD", "Group Crisis Intervention", "",
           "05/01/2024", "05/21/2024 03:45 PM", "Completed", "14", "C-1"]
    held = ["Nobody", "no@x.example", "X", "Group Crisis Intervention", "", "05/01/2024", "", "In Progress", "", ""]
    rows = [row, held, [*row[:6], "05/22/2024 11:59 PM", *row[7:]], row, held, ["", "", "", "", "", "", "", "",
            "", ""], [*row[:7], "Bogus", *row[8:]], row[:5], row]
    path = tmp_path / "export.csv"
    write_export(path, rows * 3)
    columnar, general = import_both(path, "America/Chicago")
    assert columnar == general


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('H\r\n"Dana, W",d@x.example\r\n', "a quote"),
        ("H\r\n\r\nDana,d@x.example\r\n", "a blank line"),
        ("H\rDana,d@x.example\r", "lone carriage returns"),
        ("sep=,\r\nH\r\nDana,d@x.example\r\n", "an Excel sep= line"),
    ],
)
def test_files_the_columnar_path_leaves_to_the_fast_path(tmp_path: Path, text: str, why: str) -> None:
    """Files whose lines are not simply their cells joined by the separator are not read by columns."""
    path = tmp_path / "export.csv"
    path.write_bytes(text.replace("H", ",".join(COPS_HEADER), 1).encode("utf-8"))
    assert layout(path, COPS) is None, why


def test_a_plain_file_is_read_by_columns(tmp_path: Path) -> None:
    """The same file with CRLF line ends and no quote is."""
    path = tmp_path / "export.csv"
    path.write_bytes((",".join(COPS_HEADER) + "\r\nDana,d@x.example\r\n").encode("utf-8"))
    assert layout(path, COPS) is not None


def test_a_windows_1252_file_is_left_to_the_fast_path(tmp_path: Path) -> None:
    """Only UTF-8 files are read by columns."""
    path = tmp_path / "export.csv"
    path.write_bytes((",".join(COPS_HEADER) + "\r\nRené,r@x.example\r\n").encode("cp1252"))
    assert layout(path, COPS) is None


def test_a_failure_midway_stores_nothing(tmp_path: Path) -> None:
    """One transaction per file: an error after some batches were stored leaves no batch, record
    or held row, and the ledger stays usable."""
    row = ["Dana Whitfield", "dana.whitfield@pinelake.example", "Pine Lake PD", "Group Crisis Intervention", "",
           "05/01/2024", "05/21/2024 03:45 PM", "Completed", "14", ""]
    held = ["Nobody", "no@x.example", "X", "Group Crisis Intervention", "", "05/01/2024", "", "In Progress", "", ""]
    path = tmp_path / "export.csv"
    write_export(path, [[*row[:6], f"05/{day:02d}/2024", *row[7:]] for day in range(1, 29)] + [held] * 3)
    chunk = peertrain.imports._columnar._Columnar._chunk
    calls: list[int] = []

    def failing(self, batch):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError("killed")
        return chunk(self, batch)

    ledger = new_ledger(tmp_path / "ledger.db")
    try:
        with small_steps(fast=True, columnar=True), mock.patch.object(
            peertrain.imports._columnar._Columnar, "_chunk", failing
        ), pytest.raises(RuntimeError, match="killed"):
            import_file(ledger, COPS, path, CATALOGUE, now=NOW)
        assert ledger.batches() == []
        assert list(ledger.records()) == []
        assert ledger.held() == []
        with small_steps(fast=True, columnar=True):
            counts = import_file(ledger, COPS, path, CATALOGUE, now=NOW).batch.counts
        assert (counts.imported, counts.unmatched) == (28, 1)
    finally:
        ledger.close()


def test_the_columnar_path_writes_the_ledgers_own_agency(tmp_path: Path) -> None:
    """The batch, its held and its rejected rows carry the file's agency (``ledger init
    --agency``), as the other paths write them, not the columns' default."""
    import sqlite3

    row = ["Dana Whitfield", "dana.whitfield@pinelake.example", "Pine Lake PD", "Group Crisis Intervention", "",
           "05/01/2024", "05/21/2024 03:45 PM", "Completed", "14", ""]
    held = ["Nobody", "no@x.example", "X", "Group Crisis Intervention", "", "05/01/2024", "05/02/2024 01:00 PM",
            "Completed", "2", ""]
    bad = [*row[:6], "13/45/2024", *row[7:]]
    path = tmp_path / "export.csv"
    write_export(path, [row, held, bad])
    ledger = open_ledger(tmp_path / "ledger.db", create_timezone="America/Chicago")
    try:
        ledger.name_agency("pine-lake", "Pine Lake PD")  # type: ignore[attr-defined]
        ledger.put_members(ROSTER)
        with small_steps(fast=True, columnar=True):
            counts = import_file(ledger, COPS, path, CATALOGUE, now=NOW).batch.counts
        assert (counts.imported, counts.unmatched, counts.rejected) == (1, 1, 1)
    finally:
        ledger.close()
    db = sqlite3.connect(tmp_path / "ledger.db")
    try:
        for table in ("batches", "held", "rejected"):
            assert db.execute(f"SELECT DISTINCT agency_id FROM {table}").fetchall() == [("pine-lake",)], table
    finally:
        db.close()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(*(st.none() | st.text(max_size=6) for _ in range(11))), max_size=30
    ),
    st.integers(1, 7),
)
def test_records_digest_is_the_journals(rows: list[tuple[str | None, ...]], size: int) -> None:
    """The columnar ingest's records part of a journal entry, encoded by polars over Arrow batches
    (or by the encoder itself for a batch with a value to escape), is the journal's own."""
    rows = sorted({row[0] or "": row for row in rows}.values(), key=lambda row: (row[0] or "").encode())
    expected = _Rows()
    for row in rows:
        expected.add(row, row[0])
    names = ["batch_id", *(f"c{i}" for i in range(11))]
    batches = []
    for start in range(0, len(rows), size):
        part = rows[start:start + size]
        columns = [pa.array([1] * len(part), pa.int64())]
        for i in range(11):
            values = [row[i] for row in part]
            # a column of nulls only comes typed int64 from the driver
            kind = pa.int64() if all(v is None for v in values) else pa.string()
            columns.append(pa.array(values, kind))
        batches.append(pa.RecordBatch.from_arrays(columns, names=names))
    assert records_digest(batches) == expected.digest()


#: Mostly plain text, with what JSON writes otherwise (quote, backslash, control) now and then.
_PLAIN_TEXT = st.text(alphabet="ab é,:{} ", max_size=6)
_TEXT = _PLAIN_TEXT | _PLAIN_TEXT | _PLAIN_TEXT | st.text(alphabet='a"\\\n\x01', max_size=3)
_SORTED = st.dictionaries(_TEXT, st.none() | _TEXT, max_size=4).map(
    lambda d: json.dumps(d, sort_keys=True, ensure_ascii=False)
)
#: Members written by hand: keys in any order, repeated, values text or null.
_MEMBERS = st.lists(st.tuples(_PLAIN_TEXT, st.none() | _PLAIN_TEXT), min_size=1, max_size=4).map(
    lambda ms: "{" + ", ".join(f'"{k}": ' + ("null" if v is None else f'"{v}"') for k, v in ms) + "}"
)
_PAYLOADS = st.one_of(
    _SORTED, _SORTED, _SORTED, _MEMBERS,
    st.dictionaries(st.text(max_size=3), st.integers() | st.booleans(), max_size=3).map(json.dumps),
    st.text(max_size=12),
)


def _held_batches(held: list[tuple[str, ...]], size: int) -> list[pa.RecordBatch]:
    names = ["batch_id", "source", "origin", "reason", "fingerprint", "payload"]
    return [
        pa.RecordBatch.from_arrays(
            [pa.array([1] * len(held[i:i + size]), pa.int64()),
             *(pa.array([row[c] for row in held[i:i + size]], pa.string()) for c in range(5))],
            names=names,
        )
        for i in range(0, len(held), size)
    ]


@pytest.mark.parametrize("values", [
    {"a": "x", "b": None},  # plain: separators replaced as text
    {"a": ": x", "b": None},  # a value starting with ': ' (the quote before it reads '": ')
    {": a": "x", "b": None},  # a key starting with ': ', first and later
    {"a": "x", ": b": None},
    {"a": "x, ", "b": "y"},  # a value ending with ', ' (before its closing quote)
    {"a": "x", "b": ", "},  # ... last
    {"a, ": None, "b": "x"},  # a key ending with ', '
    {"a": "null, ", "b": None},
    {"a": '", "', "b": None},  # a quote: escaped, so left to the journal's encoder
])
def test_held_digest_separators(values: dict[str, str | None]) -> None:
    """Held payloads whose text holds a separator's text inside a string are hashed as the journal
    hashes them, by polars (not refused), except where a value has to be escaped."""
    held = [("s", "export.csv:2", "unknown course", "f1", json.dumps(values, sort_keys=True)),
            ("s", "export.csv:3", "unknown course", "f2", json.dumps({"a": "x"}))]
    expected = _Rows()
    for row in held:
        expected.add([row[0], row[1], row[2], row[3], _json(row[4])], row[3])
    found = held_digest(_held_batches(held, 2))
    if '"' in "".join(f"{k}{v}" for k, v in values.items()):
        assert found is None
    else:
        assert found == expected.digest()


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(_TEXT, _TEXT, _TEXT, _PAYLOADS), max_size=8),
       st.integers(1, 7), st.booleans())
@example([("o", "r", "", '{"b": "x", "a": null}')], 1, False)  # keys out of order
@example([("o", "r", "", '{"a": "x", "a": null}')], 1, False)  # a key twice
@example([("o", "r", "", '{"a": "x"}'), ("o", "r", "", '{"a": "y"}')], 2, True)  # a tie across batches
def test_held_digest_is_the_journals(rows: list[tuple[str, str, str, str]], size: int, tie: bool) -> None:
    """The held part of a journal entry written by polars (or refused, for the journal to write it)
    is the journal's own: payloads as ``json.dumps`` writes them, with values to escape, unsorted
    keys, numbers, or not JSON at all, and fingerprints that tie."""
    held = [("s", origin, reason, f"f{n:03d}", payload) for n, (origin, reason, _, payload) in enumerate(rows)]
    if tie and held:
        held.append((*held[-1][:4], held[0][4]))
    expected = _Rows()
    for row in held:
        expected.add([row[0], row[1], row[2], row[3], _json(row[4])], row[3])
    names = ["batch_id", "source", "origin", "reason", "fingerprint", "payload"]
    batches = [
        pa.RecordBatch.from_arrays(
            [pa.array([1] * len(held[i:i + size]), pa.int64()),
             *(pa.array([row[c] for row in held[i:i + size]], pa.string()) for c in range(5))],
            names=names,
        )
        for i in range(0, len(held), size)
    ]
    found = held_digest(batches)
    assert found is None or found == expected.digest()
    if tie and len(held) > 1:
        assert found is None


def stored_pg(ledger: Any) -> tuple[object, ...]:
    """Everything an import leaves in a PostgreSQL ledger, batch ids included (held rows as stored,
    to the byte)."""
    held = ledger._db.execute(
        "SELECT id, batch_id, source, origin, reason, fingerprint, payload, record_id, agency_id FROM held ORDER BY id"
    ).fetchall()
    return [(b.id, b.counts) for b in ledger.batches()], list(ledger.records()), held, ledger.rejected()


@pytest.fixture(scope="module")
def pg_pairs(pg_cluster):
    """Pairs of new PostgreSQL ledgers (columnar, general), one pair per call."""

    def pair(timezone: str) -> tuple[Any, Any]:
        return tuple(new_ledger(pg_cluster.url(pg_cluster.create_database()), timezone=timezone) for _ in range(2))

    return pair


@settings(max_examples=15, deadline=None)
@given(st.lists(export_rows(), max_size=25), st.sampled_from(ZONES))
def test_columnar_path_on_postgresql_matches_general_path(pg_pairs, rows: list[list[str]], timezone: str) -> None:
    """On a PostgreSQL ledger the columnar path (Arrow chunks copied in as CSV) stores exactly what
    the general path stores, imports and re-imports, with the same journal entries."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        write_export(path, plain(rows))
        columnar, general = pg_pairs(timezone)
        taken: list[bool] = []
        store = type(columnar)._store_columnar

        def spy(self: Any, *args: Any, **kwargs: Any) -> None:
            taken.append(True)
            store(self, *args, **kwargs)

        try:
            with small_steps(fast=True, columnar=True), mock.patch.object(type(columnar), "_store_columnar", spy):
                import_file(columnar, COPS, path, CATALOGUE, now=NOW)
                import_file(columnar, COPS, path, CATALOGUE, now=NOW)  # again: all duplicates
            assert taken or not rows, "the columnar path was not taken"
            with small_steps(fast=False):
                import_file(general, COPS, path, CATALOGUE, now=NOW)
                import_file(general, COPS, path, CATALOGUE, now=NOW)
            assert stored_pg(columnar) == stored_pg(general)
            assert columnar.verify().ok
            sums = [[(e.seq, e.kind, e.ref, e.content_sha256) for e in pg_journal(ledger._db).entries()]
                    for ledger in (columnar, general)]
            assert sums[0] == sums[1]
        finally:
            columnar.close()
            general.close()

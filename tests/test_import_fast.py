"""The CSV import's fast path gives every row exactly the outcome the general path gives.

The fast path (:class:`peertrain.imports.importer._FastCSV`) reads rows as csv lists and looks values up
by their raw text; the general path builds a :class:`RawRow` per row and classifies it. Both are
run over the same files -- random ones from the import tests' strategies, and a crafted one full of
edge cases (time-zone transition days, half-hour zones, midnights, implausible years, short rows,
repeated ids and source record ids) -- with tiny chunks and sorted runs, and must store the same
records, held rows, rejects and counts. The date reader behind it must equal ``parse_date``.
"""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import peertrain.imports._columnar
import peertrain.imports.importer
import peertrain.ledger._ingest
import peertrain.ledger._rows
import peertrain.ledger.sqlite
from peertrain import Member
from peertrain.imports.exports import ExportError, iter_rows
from peertrain.imports.exports.values import DateReader, parse_date
from peertrain.imports.importer import import_file
from peertrain.imports.profiles import Profile, load_profile
from peertrain.ledger import Ledger
from peertrain.ledger.sqlite import PreparedChunk, SQLiteLedger
from test_import import CATALOGUE, COPS, COPS_HEADER, NOW, export_rows, new_ledger, write_export

#: Agency zones: whole-hour, half- and quarter-hour offsets, southern DST, and far from New York.
ZONES = [
    "America/Chicago", "America/New_York", "Asia/Kolkata", "Australia/Adelaide", "America/St_Johns",
    "Asia/Kathmandu", "Europe/London", "Pacific/Chatham", "Pacific/Kiritimati", "Pacific/Pago_Pago", "UTC",
]


@contextmanager
def small_steps(*, fast: bool, columnar: bool = False) -> Iterator[None]:
    """Tiny chunks and sorted runs (so their edges are crossed), on the fast or the general path
    (and with ``columnar``, on the columnar path where a file allows it)."""
    with (
        mock.patch.object(peertrain.imports.importer, "_FAST_CSV", fast),
        mock.patch.object(peertrain.imports.importer, "_COLUMNAR", columnar),
        mock.patch.object(peertrain.imports._columnar, "BATCH_ROWS", 3),
        mock.patch.object(peertrain.imports._columnar, "_KNOWN_LIMIT", 4),
        mock.patch.object(peertrain.ledger._ingest, "RUN_ROWS", 5),
        mock.patch.object(peertrain.imports.importer, "CHUNK_ROWS", 3),
        mock.patch.object(peertrain.ledger._rows, "CHUNK_ROWS", 4),
        mock.patch.object(peertrain.ledger.sqlite, "RUN_ROWS", 5),
    ):
        yield


def stored(ledger: Ledger) -> tuple[object, ...]:
    """Everything an import leaves in the ledger, batch ids included."""
    batches = [(b.id, b.counts) for b in ledger.batches()]
    assert isinstance(ledger, SQLiteLedger)
    # The held rows as stored, to the byte: the payload's JSON text and the fingerprint.
    held = ledger._db.execute("SELECT * FROM held ORDER BY id").fetchall()
    return batches, list(ledger.records()), held, ledger.rejected()


def assert_same_outcomes(path: Path, profile: Profile, timezone: str, roster: list[Member] | None = None) -> None:
    """Import ``path`` on both paths into fresh ledgers: the same rows end the same way; then each
    path re-imports the other's file as pure duplicates (same record ids and fingerprints)."""
    with tempfile.TemporaryDirectory() as folder:
        kwargs = {} if roster is None else {"roster": roster}
        fast = new_ledger(Path(folder) / "fast.db", timezone=timezone, **kwargs)
        general = new_ledger(Path(folder) / "general.db", timezone=timezone, **kwargs)
        try:
            with small_steps(fast=True):
                first = import_file(fast, profile, path, CATALOGUE, now=NOW).batch.counts
            with small_steps(fast=False):
                import_file(general, profile, path, CATALOGUE, now=NOW)
            assert stored(fast) == stored(general)
            with small_steps(fast=False):
                again = import_file(fast, profile, path, CATALOGUE, now=NOW).batch.counts
            with small_steps(fast=True):
                again_fast = import_file(general, profile, path, CATALOGUE, now=NOW).batch.counts
            assert again == again_fast
            assert (again.imported, again.unmatched, again.rejected) == (0, 0, first.rejected)
            assert again.duplicates == first.imported + first.duplicates + first.unmatched
        finally:
            fast.close()
            general.close()


@settings(max_examples=40)
@given(st.lists(export_rows(), max_size=25), st.sampled_from(ZONES))
def test_fast_path_matches_general_path_on_random_exports(rows: list[list[str]], timezone: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        write_export(path, rows)
        assert_same_outcomes(path, COPS, timezone)


PROFILE_TOML = """
[profile]
id = "fast-edge"
title = "every field the fast path reads"
format = "csv"
source = "edge 'portal'"
date_formats = ["%m/%d/%Y", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M"]
source_timezone = "America/New_York"
people = ["email", "name+agency"]
courses = ["course_title", "course_id"]

[fields]
name = "Name"
email = "Email"
agency = "Agency"
course_title = "Course"
enrolled_on = "Enrolled"
completed_on = "Completed"
status = "Status"
hours = "Hours"
delivery = "Delivery"
provider = "Provider"
{record_id}

[statuses]
completed = ["Completed"]
in_progress = ["In Progress"]
failed = ["Failed"]
"""
HEADER = ["Name", "Email", "Agency", "Course", "Enrolled", "Completed", "Status", "Hours", "Delivery", "Provider", "Id"]
#: Completion cells: DST days in New York (a time that does not exist, one that happens twice),
#: midnights, whitespace, seconds, 24-hour clock, implausible and unreal dates, ISO, junk.
WHEN = [
    "03/14/2021 2:30 AM", "03/14/2021 03:30 AM", "11/07/2021 1:30 AM", "11/07/2021 01:59:59 AM", "11/07/2021 11:59 PM",
    "03/28/2021 1:30 AM", "10/03/2021 11:45 PM", "04/04/2021 12:30 AM", "06/15/2021 12:00 AM", "06/15/2021 00:00",
    "06/15/2021 12:00 PM", "06/15/2021 11:59 PM", "06/15/2021 23:59", "06/15/2021  11:00 PM", " 06/15/2021 10:00 PM",
    "06/15/2021\t10:00 PM", "06/15/2021 10:00 pm", "06/15/2021 10:00:60 PM", "06/15/2021 13:00 PM", "6/5/2021 9:05 PM",
    "12/31/2999 11:30 PM", "01/01/1900 12:30 AM", "12/31/1899 11:30 PM", "02/30/2021 10:00 PM", "2021-06-15 22:00",
    "2021-06-15T22:00:00Z", "06/15/2021", "", "  ", "soon", "12/31/9999 11:59 PM", "01/01/0001 12:01 AM",
]
PEOPLE = [
    ("Dana Whitfield", "dana.whitfield@pinelake.example", "Pine Lake PD"),
    ("Dana Whitfield", " DANA.WHITFIELD@pinelake.example", "Pine Lake PD"),
    ("Whitfield, Dana", "", "Pine Lake PD"),
    ("Jordan Pike", "jordan.pike@riverbend.example", "Riverbend PD"),
    ('Pat "Paddy" O\'Brien\\', "pat\u00e9@x.example", "Dublin \\ PD \u2603"),
    ("", "", ""),
]
COURSES = [
    "Group Crisis Intervention", "QPR Gatekeeper Training", "Unknown Vendor Webinar", 'The "Other" \\ Course', "",
]


@st.composite
def edge_rows(draw: st.DrawFn) -> list[str]:
    name, email, agency = draw(st.sampled_from(PEOPLE))
    row = [
        name, email, agency, draw(st.sampled_from(COURSES)), draw(st.sampled_from(WHEN)),
        draw(st.sampled_from(WHEN)), draw(st.sampled_from(["Completed", "In Progress", "Failed", "", "Done"])),
        draw(st.sampled_from(["", "14", "1.5", "1,5", "-1", "100000000"])),
        draw(st.sampled_from(["", "online", "In Person", "blended", "carrier pigeon"])),
        draw(st.sampled_from(["", "ICISF", " ICISF  ", "Ünïcode\u200b Provider"])),
        draw(st.sampled_from(["", "R-1", "R-2", " R-3 "])),
    ]
    return row[: draw(st.sampled_from([11, 11, 11, 11, 7, 3]))]


@settings(max_examples=60)
@given(
    st.lists(edge_rows(), max_size=25), st.sampled_from(ZONES), st.booleans(),
    st.sampled_from(["America/New_York", "Asia/Kolkata", "UTC"]),
)
def test_fast_path_matches_general_path_on_edge_cases(
    rows: list[list[str]], timezone: str, with_record_id: bool, source_zone: str
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        toml = Path(folder) / "edge.toml"
        toml.write_text(PROFILE_TOML.format(record_id='record_id = "Id"' if with_record_id else ""), encoding="utf-8")
        profile = attrs.evolve(load_profile(toml), source_timezone=source_zone)
        path = Path(folder) / "Pike's export.csv"  # a quote in the file name and in the source
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows(rows)
        assert_same_outcomes(path, profile, timezone)


def test_cops_header_is_the_import_tests_header() -> None:
    """The random exports above are COPS exports (the strategies write this header)."""
    assert COPS.fields["completed_on"] in COPS_HEADER


# -- the date reader -------------------------------------------------------------------------------

FORMAT_SETS = [
    ("%m/%d/%Y", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M"),
    ("%d.%m.%Y", "%d.%m.%Y %H:%M"),
    ("%m/%d/%y %I:%M %p",),
    ("%d/%m/%Y %H:%M:%S", "%d/%m/%Y %I:%M:%S %p"),
    ("%d/%m/%Y", "%m/%d/%Y %I:%M %p"),  # two date layouts: not split, read whole
    ("%Y/%m/%d %H:%M", "%Y/%m/%d %H"),
]
WRITE_WITH = [
    "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%m/%d/%Y %I:%M:%S %p", "%d.%m.%Y %H:%M", "%m/%d/%y %I:%M %p",
    "%d/%m/%Y %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d %H", "%m/%d/%Y", "%Y-%m-%d %H:%M", "%m/%d/%Y %H:%M:%S",
]
#: Days with a transition in one of the zones (local dates).
TRANSITION_DAYS = [
    dt.date(2021, 3, 14), dt.date(2021, 11, 7), dt.date(2021, 3, 28), dt.date(2021, 10, 31), dt.date(2021, 4, 4),
    dt.date(2021, 10, 3), dt.date(2021, 9, 26), dt.date(2021, 3, 13), dt.date(2021, 11, 6), dt.date(1986, 1, 1),
]


@st.composite
def moments(draw: st.DrawFn) -> dt.datetime:
    if draw(st.booleans()):
        day = draw(st.sampled_from(TRANSITION_DAYS))
        return dt.datetime.combine(day, draw(st.times()))
    return draw(st.datetimes(min_value=dt.datetime(1899, 12, 25), max_value=dt.datetime(3000, 1, 5)))


@given(
    moments(), st.sampled_from(FORMAT_SETS), st.sampled_from(WRITE_WITH), st.sampled_from(ZONES),
    st.sampled_from(ZONES), st.sampled_from(["none", "upper", "double-space", "tab", "pad", "chop", "midnight"]),
)
def test_date_reader_matches_parse_date(
    moment: dt.datetime, formats: tuple[str, ...], written_with: str, source: str, agency: str, mangle: str
) -> None:
    """On any text, the date reader answers what parse_date answers: the same date, or the same
    reason -- across DST days and zones with half-hour offsets."""
    if mangle == "midnight":
        moment = moment.replace(hour=0, minute=0, second=0)
    text = moment.strftime(written_with)
    text = {
        "none": text, "upper": text.upper(), "double-space": text.replace(" ", "  ", 1), "tab": text.replace(" ", "\t"),
        "pad": f"{text} ", "chop": text[:-1], "midnight": text,
    }[mangle]
    profile = attrs.evolve(COPS, date_formats=formats, source_timezone=source)
    zone = zoneinfo.ZoneInfo(agency)
    reader = DateReader(profile, zone)
    try:
        expected: object = parse_date(text, profile, zone)
    except ValueError as exc:
        expected = str(exc)
    except OverflowError:
        with pytest.raises(OverflowError):
            reader(text)
        return
    assert reader(text) == expected
    assert reader(text) == expected  # and again, from what it remembered


def test_date_reader_splits_only_one_date_layout_with_time_formats() -> None:
    zone = zoneinfo.ZoneInfo("America/Chicago")
    assert DateReader(COPS, zone).splits
    assert not DateReader(attrs.evolve(COPS, date_formats=("%m/%d/%Y",)), zone).splits
    assert not DateReader(attrs.evolve(COPS, date_formats=("%d/%m/%Y", "%m/%d/%Y %H:%M")), zone).splits
    assert not DateReader(attrs.evolve(COPS, date_formats=("%Y-%m-%d %H:%M",)), zone).splits  # ISO-like
    assert not DateReader(attrs.evolve(COPS, date_formats=("%m/%d/%Y %H:%M %z",)), zone).splits


def test_date_reader_reads_across_a_new_york_dst_day_into_chicago() -> None:
    reader = DateReader(COPS, zoneinfo.ZoneInfo("America/Chicago"))
    assert reader("03/14/2021 12:30 AM") == dt.date(2021, 3, 13)  # 23:30 in Chicago, the day before
    assert reader("03/14/2021 01:30 AM") == dt.date(2021, 3, 14)
    assert reader("06/15/2021 12:59 AM") == dt.date(2021, 6, 14)
    assert reader("06/15/2021 01:00 AM") == dt.date(2021, 6, 15)
    assert reader("06/15/2021 12:00 AM") == dt.date(2021, 6, 15)  # a naive midnight is a plain date


# -- the csv reader's shortcut for rows that cannot be blank in a file that holds no NUL ----------


@pytest.mark.parametrize("encoding", ["auto", "utf-8", "cp1252"])
@pytest.mark.parametrize("where", ["first", "last"])
def test_a_nul_anywhere_is_still_refused(tmp_path: Path, encoding: str, where: str) -> None:
    """Rows are checked for NUL one by one unless the encoding pre-scan saw the whole file hold
    none: a NUL in a row whose first cell is text is found with any encoding setting."""
    good = "Dana Whitfield,dana@x.example,Pine Lake PD,GCI,,01/02/2024,01/03/2024,Completed,14,C-1\r\n"
    bad = "Dana Whitfield,dana@x.example,Pine Lake PD,GCI,,01/02/2024,01/03/2024,Completed,1\x004,C-2\r\n"
    rows = [bad, good, good] if where == "first" else [good, good, bad]
    path = tmp_path / "nul.csv"
    path.write_bytes((",".join(COPS_HEADER) + "\r\n" + "".join(rows)).encode())
    profile = attrs.evolve(COPS, encoding=encoding)
    with pytest.raises(ExportError, match="NUL") as caught:
        list(iter_rows(path, profile))
    assert caught.value.row == (2 if where == "first" else 4)


def test_blank_rows_are_skipped_but_counted_when_the_first_cell_is_blank(tmp_path: Path) -> None:
    good = "Dana Whitfield,dana@x.example,Pine Lake PD,GCI,,01/02/2024,01/03/2024,Completed,14,C-1\r\n"
    path = tmp_path / "blank.csv"
    path.write_text(",".join(COPS_HEADER) + "\r\n" + good + " , ,\t,\r\n" + ",,,x\r\n" + good, encoding="utf-8")
    assert [row.number for row in iter_rows(path, COPS)] == [2, 4, 5]


@pytest.mark.parametrize("fast", [True, False])
def test_progress_is_reported_every_10000_rows_and_at_the_end(tmp_path: Path, fast: bool) -> None:
    good = "Dana Whitfield,dana.whitfield@pinelake.example,Pine Lake PD,Group Crisis Intervention,,,{},Completed,1,\r\n"
    rows = [good.format(f"{1 + n % 12:02d}/{1 + n % 28:02d}/2024 0{1 + n % 9}:{n % 60:02d} PM") for n in range(25_000)]
    path = tmp_path / "export.csv"
    path.write_text(",".join(COPS_HEADER) + "\r\n" + "".join(rows) + "\r\n,,\r\n", encoding="utf-8")
    seen: list[int] = []
    ledger = new_ledger(tmp_path / "ledger.db")
    with mock.patch.object(peertrain.imports.importer, "_FAST_CSV", fast):
        batch = import_file(ledger, COPS, path, CATALOGUE, now=NOW, progress=seen.append).batch
    assert seen == [10_000, 20_000, 25_000]
    assert batch.counts.rows_read == 25_000
    assert batch.counts.imported + batch.counts.duplicates == 25_000


@pytest.mark.parametrize("fast", [True, False])
def test_chunks_stay_small_whatever_the_rows_become(tmp_path: Path, fast: bool) -> None:
    """Memory stays bounded: no chunk holds more than CHUNK_ROWS rows, rejected ones included."""
    rows = [["Dana Whitfield", "dana.whitfield@pinelake.example", "Pine Lake PD", "GCI", "", "", "soon", "Completed"]]
    rows += [["Dana Whitfield", "dana.whitfield@pinelake.example", "Pine Lake PD", "Group Crisis Intervention", "",
              "", f"01/{1 + n % 28:02d}/2024", "Completed", "1", ""] for n in range(5)]
    path = tmp_path / "export.csv"
    write_export(path, rows * 4 + [["Nobody", "no@x.example", "X", "Y", "", "", "01/02/2024", "Completed"]] * 7)
    sizes: list[int] = []
    store = SQLiteLedger._store_others

    def spy(self: SQLiteLedger, batch_id: int, source: str, chunk: PreparedChunk, counts: dict[str, int]) -> None:
        sizes.append(chunk.rows)
        store(self, batch_id, source, chunk, counts)

    ledger = new_ledger(tmp_path / "ledger.db")
    with small_steps(fast=fast), mock.patch.object(SQLiteLedger, "_store_others", spy):
        batch = import_file(ledger, COPS, path, CATALOGUE, now=NOW).batch
    assert sum(sizes) == batch.counts.rows_read == 31
    assert max(sizes) <= (3 if fast else 4)


def test_a_source_or_file_name_sql_cannot_spell_is_bound_instead(tmp_path: Path) -> None:
    """The batch's source and file name are written into the insert statement; one holding a NUL
    (which SQL text cannot) is bound per row instead, with the same outcome."""
    good = "Dana Whitfield,dana.whitfield@pinelake.example,Pine Lake PD,Group Crisis Intervention,,,{},Completed,1,\r\n"
    path = tmp_path / "export.csv"
    rows = [good.format(f"01/{day:02d}/2024 09:00 PM") for day in (1, 2, 2, 3)]
    path.write_text(",".join(COPS_HEADER) + "\r\n" + "".join(rows), encoding="utf-8")
    profile = attrs.evolve(COPS, source="nul\x00portal")
    assert_same_outcomes(path, profile, "America/Chicago")
    ledger = new_ledger(tmp_path / "ledger.db")
    import_file(ledger, profile, path, CATALOGUE, now=NOW)
    assert isinstance(ledger, SQLiteLedger)
    stored_rows = ledger._db.execute("SELECT source, origin FROM records ORDER BY origin").fetchall()
    assert stored_rows == [("nul\x00portal", "export.csv:2"), ("nul\x00portal", "export.csv:3"),
                           ("nul\x00portal", "export.csv:5")]

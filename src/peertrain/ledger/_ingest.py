"""Storing a columnar import through ADBC's SQLite driver, for :mod:`peertrain.ledger.sqlite`
(which re-exports :class:`ColumnarChunk`).

The importer's columnar path hands the ledger Arrow tables instead of one Python tuple per row.
They are bulk-ingested into temporary staging tables and moved into ``records`` and ``held``
with ``INSERT OR IGNORE ... SELECT``, so duplicates are decided by the same unique keys as on
every other path. Everything of the file -- the batch row, its records, held and rejected rows
and its counts -- is written through the one ADBC connection inside one ``BEGIN IMMEDIATE`` ...
``COMMIT``: a transaction cannot span two connections, and a crash must leave all of the file
or none of it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
from attrs import Factory, define

from peertrain._prefetch import prefetched
from peertrain.ledger import LedgerError, RejectedRow
from peertrain.ledger._digest import held_digest, records_digest
from peertrain.ledger._journal import BATCH, Journal
from peertrain.ledger._schema import AGENCY

__all__ = ["HELD_COLUMNS", "RECORD_COLUMNS", "ColumnarChunk", "ingest"]

#: The staged records' columns (all text but ``seq``, the row's position in the file).
RECORD_COLUMNS = (
    "id", "member_id", "course_id", "on_date", "status", "hours", "delivery", "provider", "record_id", "origin",
)
#: The staged held rows' columns (text but ``seq``).
HELD_COLUMNS = ("origin", "reason", "fingerprint", "payload")
#: Records staged (in SQLite's temporary file) and moved into ``records`` per run.
RUN_ROWS = 250_000
#: Rows of each journal part hashed at a time. A held row's payload is some 500 bytes, and
#: hashing a batch of them holds several copies of its text (expressions over the payloads, the
#: batch's JSON, its bytes): the import's peak is at the held digest with 16,384 of them.
DIGEST_ROWS = {"records": 1 << 14, "held": 1 << 12}
#: Chunks the importer may classify ahead of the one being stored (in a worker thread: SQLite
#: writes without Python's lock, so classifying and storing share the two cores).
AHEAD = 1


@define
class ColumnarChunk:
    """Consecutive input rows of one import as Arrow tables.

    ``records`` has the columns :data:`RECORD_COLUMNS` and ``seq`` (int64: the order of input);
    ``held`` has ``seq`` and :data:`HELD_COLUMNS`; ``rejected`` are in input order; ``rows``
    counts every input row of the chunk.
    """

    rows: int = 0
    records: pa.Table | None = None
    held: pa.Table | None = None
    rejected: list[RejectedRow] = Factory(list)


def ingest(
    path: Path, batch: tuple[str, str, str, str, str], chunks: Iterable[ColumnarChunk]
) -> tuple[int, dict[str, int]]:
    """Store one file's chunks as one batch (``batch``: source, profile, file name, hash, time as
    stored) in one transaction of a new ADBC connection; the batch id and its counts."""
    import adbc_driver_sqlite.dbapi as adbc  # noqa: PLC0415 - a compiled writer, loaded only when used

    counts = {"rows_read": 0, "imported": 0, "not_completed": 0, "duplicates": 0, "rejected": 0, "unmatched": 0}
    connection = adbc.connect(path.resolve().as_uri(), autocommit=True)
    try:
        cursor = connection.cursor()
        for pragma in (
            "busy_timeout = 10000", "cache_size = -16384", "foreign_keys = ON", "synchronous = NORMAL",
            "temp_store = FILE", "temp.cache_size = -4096",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except Exception as exc:  # e.g. another import holds the write lock
            raise LedgerError(f"the ledger is busy or cannot be written ({exc}); try again") from None
        try:
            batch_id = _store(cursor, batch, chunks, counts)
            _journal(cursor, batch_id)
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()
    finally:
        connection.close()
    return batch_id, counts


def _journal(cursor: Any, batch_id: int) -> None:
    """The batch's journal entry, in the same transaction (as every other path appends it)."""

    def query(sql: str, params: tuple[Any, ...]) -> list[Any]:
        cursor.execute(sql, params or None)
        return list(cursor.fetchall()) if cursor.description is not None else []

    def stream(sql: str, params: tuple[Any, ...]) -> Iterator[tuple[Any, ...]]:
        # The driver's fetchone makes a Python value of each cell one at a time (about 15 s for a
        # million records): read Arrow batches and make each column's values in one call.
        cursor.execute(sql, params or None)
        for part in cursor.fetch_record_batch():
            yield from zip(*(column.to_pylist() for column in part.columns), strict=True)

    def digest(part: str, sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        rows = DIGEST_ROWS[part]
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(rows)})
        cursor.execute(sql, params or None)
        batches = prefetched(cursor.fetch_record_batch(), AHEAD)  # read while the last is hashed
        return records_digest(batches) if part == "records" else held_digest(batches)

    Journal(query, stream=stream, digest=digest).record(BATCH, batch_id)


def _store(
    cursor: Any, batch: tuple[str, str, str, str, str], chunks: Iterable[ColumnarChunk], counts: dict[str, int]
) -> int:
    source = batch[0]
    cursor.execute(
        "INSERT INTO batches (source, profile, file_name, file_hash, imported_at) VALUES (?, ?, ?, ?, ?)", batch
    )
    cursor.execute("SELECT last_insert_rowid()")
    batch_id = int(cursor.fetchone()[0])
    text = ", ".join(f"{c} TEXT" for c in RECORD_COLUMNS)
    cursor.execute(f"CREATE TEMP TABLE peertrain_stage_records ({text}, seq INTEGER)")
    text = ", ".join(f"{c} TEXT" for c in HELD_COLUMNS)
    cursor.execute(f"CREATE TEMP TABLE peertrain_stage_held (seq INTEGER, {text})")
    staged, keyed = 0, False
    for chunk in prefetched(chunks, AHEAD):
        counts["rows_read"] += chunk.rows
        if chunk.held is not None and chunk.held.num_rows:
            _store_held(cursor, batch_id, source, chunk.held, counts)
        if chunk.rejected:
            _store_rejected(cursor, batch_id, chunk.rejected, counts)
        if chunk.records is not None and chunk.records.num_rows:
            # Staged at once, in input order (staging rowid order), and moved a run at a time.
            records = chunk.records.sort_by("seq")
            keyed = keyed or records.column("record_id").null_count < records.num_rows
            cursor.adbc_ingest("peertrain_stage_records", records, mode="append", temporary=True)
            staged += records.num_rows
            del records
            if staged >= RUN_ROWS:
                _store_records(cursor, batch_id, source, keyed, counts)
                staged, keyed = 0, False
    if staged:
        _store_records(cursor, batch_id, source, keyed, counts)
    cursor.execute("DROP TABLE temp.peertrain_stage_records")
    cursor.execute("DROP TABLE temp.peertrain_stage_held")
    # The file's agency (schema 5) on the batch and its held and rejected rows, as every other
    # path writes it; the bulk inserts above took the columns' default.
    for table, key in (("batches", "id"), ("held", "batch_id"), ("rejected", "batch_id")):
        cursor.execute(f"UPDATE {table} SET agency_id = {AGENCY} WHERE {key} = ?", (batch_id,))
    cursor.execute(
        "UPDATE batches SET rows_read = ?, imported = ?, not_completed = ?, duplicates = ?, rejected = ?, "
        "unmatched = ? WHERE id = ?",
        (
            counts["rows_read"], counts["imported"] + counts["not_completed"], counts["not_completed"],
            counts["duplicates"], counts["rejected"], counts["unmatched"], batch_id,
        ),
    )
    return batch_id


def _changes(cursor: Any) -> int:
    cursor.execute("SELECT changes()")
    return int(cursor.fetchone()[0])


def _store_records(cursor: Any, batch_id: int, source: str, keyed: bool, counts: dict[str, int]) -> None:
    """Move the staged run of records into ``records``, in key order when that gives the same
    outcome as input order, and empty the staging table.

    Without a source record id the only key records can collide on is their id, so ordering by id
    and then by input order (the staging rowid) keeps the first of each id in input order (and
    inserts each B-tree page once); a run holding a source record id (which can collide on either
    key) is inserted in input order. Completed records and the rest never collide (both keys
    include the status). SQLite sorts the run (spilling to its temporary file), so the run is not
    held in memory.
    """
    columns = (
        "id, ?, member_id, course_id, on_date, status, hours, delivery, provider, ?, record_id, origin"
    )
    order = "rowid" if keyed else "id, rowid"
    for column, where in (("imported", "status = 'completed'"), ("not_completed", "status <> 'completed'")):
        cursor.execute(f"SELECT count(*) FROM temp.peertrain_stage_records WHERE {where}")
        staged = int(cursor.fetchone()[0])
        cursor.execute(
            f"INSERT OR IGNORE INTO records SELECT {columns} FROM temp.peertrain_stage_records WHERE {where} "
            f"ORDER BY {order}",
            (batch_id, source),
        )
        inserted = _changes(cursor)
        counts[column] += inserted
        counts["duplicates"] += staged - inserted
    cursor.execute("DELETE FROM temp.peertrain_stage_records")


def _store_held(cursor: Any, batch_id: int, source: str, held: pa.Table, counts: dict[str, int]) -> None:
    cursor.execute("DELETE FROM temp.peertrain_stage_held")
    cursor.adbc_ingest("peertrain_stage_held", held.sort_by("seq"), mode="append", temporary=True)
    cursor.execute(
        "INSERT OR IGNORE INTO held (batch_id, source, origin, reason, fingerprint, payload) "
        "SELECT ?, ?, origin, reason, fingerprint, payload FROM temp.peertrain_stage_held ORDER BY rowid",
        (batch_id, source),
    )
    inserted = _changes(cursor)
    counts["unmatched"] += inserted
    counts["duplicates"] += held.num_rows - inserted


def _store_rejected(cursor: Any, batch_id: int, rejected: list[RejectedRow], counts: dict[str, int]) -> None:
    table = pa.table({
        "batch_id": pa.array([batch_id] * len(rejected), pa.int64()),
        "file": pa.array([r.file for r in rejected], pa.string()),
        "row": pa.array([r.row for r in rejected], pa.int64()),
        "field": pa.array([r.field for r in rejected], pa.string()),
        "reason": pa.array([r.reason for r in rejected], pa.string()),
        "raw": pa.array([json.dumps(list(r.raw), ensure_ascii=False) for r in rejected], pa.string()),
    })
    cursor.adbc_ingest("rejected", table, mode="append")
    counts["rejected"] += len(rejected)

"""Rows laid out as the ledgers store them, for :mod:`peertrain.ledger.sqlite` (which re-exports
these names) and :mod:`peertrain.ledger.postgres`: :class:`PreparedChunk` (the importer's fast path
hands the ledger these), :data:`RecordRow` and :data:`HeldTuple`, :func:`record_row` /
:func:`held_row` to make them, and what both backends do alike before a batch touches the database:
:func:`prepare_chunks` (:meth:`_BatchImport.import_batch` on top of ``import_prepared``) and
:func:`check_retractable`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from itertools import islice

from attrs import Factory, define

from peertrain.ledger import Batch, LedgerError, Record, RejectedRow, UnmatchedRow
from peertrain.rules.model import SELF_REPORTED_SOURCE

#: Rows stored per step of an import (memory stays bounded by a few chunks).
CHUNK_ROWS = 5000


@define
class PreparedChunk:
    """Consecutive input rows of one import, laid out for storing (see :func:`record_row`).

    ``completed`` and ``others`` hold the records with status completed and the rest (their keys
    never collide: a record id and a source record key both include the status), in input order;
    ``held`` holds the unmatched rows (:func:`held_row`), ``rows`` counts every input row.
    """

    rows: int = 0
    completed: list[RecordRow] = Factory(list)
    others: list[RecordRow] = Factory(list)
    rejected: list[RejectedRow] = Factory(list)
    held: list[HeldTuple] = Factory(list)

    def add(self, row: Record | RejectedRow | UnmatchedRow, source: str) -> None:
        """Add one row of any kind (the general path; the importer's fast path appends tuples)."""
        self.rows += 1
        if isinstance(row, Record):
            (self.completed if row.status == "completed" else self.others).append(record_row(row))
        elif isinstance(row, RejectedRow):
            self.rejected.append(row)
        else:
            self.held.append(held_row(row, source))


#: A record as the ``records`` table stores it, without the batch id and the source (the batch's):
#: id, member, course, date, status, hours, delivery, provider, record id, origin -- the origin's
#: text, or the row number in the batch's file.
RecordRow = tuple[str, str, str, str | None, str, str | None, str | None, str | None, str | None, str | int]


#: A held row as the ``held`` table stores it, without the batch id: source, origin, reason,
#: fingerprint, payload (the values as JSON, keys sorted).
HeldTuple = tuple[str, str, str, str, str]


def held_row(row: UnmatchedRow, source: str) -> HeldTuple:
    """How an :class:`UnmatchedRow` of ``source`` is stored."""
    payload = json.dumps(row.values, ensure_ascii=False, sort_keys=True)
    return (source, f"{row.file}:{row.row}", row.reason, row.fingerprint, payload)


def record_row(record: Record) -> RecordRow:
    """How a :class:`Record` is stored (its batch gives the source)."""
    return (
        record.id, record.member, record.course, record.on.isoformat() if record.on else None, record.status,
        None if record.hours is None else str(record.hours), record.delivery, record.provider,
        record.record_id, record.origin,
    )


def prepare_chunks(rows: Iterable[Record | RejectedRow | UnmatchedRow], source: str) -> Iterator[PreparedChunk]:
    """The rows in chunks of :data:`CHUNK_ROWS`, drawn lazily."""
    iterator = iter(rows)
    while batch := list(islice(iterator, CHUNK_ROWS)):
        chunk = PreparedChunk()
        for row in batch:
            chunk.add(row, source)
        yield chunk


def check_retractable(batch: Batch) -> None:
    """Refuse (``LedgerError``) to retract a batch already retracted, or the batch of an approved
    self-reported submission (revoking it keeps the review trail consistent)."""
    if batch.source == SELF_REPORTED_SOURCE and batch.retracted_at is None:
        raise LedgerError(
            f"batch {batch.id} is an approved self-reported submission; revoke it with "
            "'peertrain review revoke' instead"
        )
    if batch.retracted_at is not None:
        raise LedgerError(f"batch {batch.id} was already retracted on {batch.retracted_at.isoformat()}")


class _BatchImport:
    """``import_batch`` as both backends give it: the rows laid out in chunks, stored by the
    backend's ``import_prepared``."""

    def import_prepared(
        self,
        *,
        source: str,
        profile: str,
        file_name: str,
        file_hash: str,
        imported_at: dt.datetime,
        chunks: Iterable[PreparedChunk],
        cursor: tuple[str, str] | None = None,
        voided: Iterable[str] = (),
    ) -> Batch:
        raise NotImplementedError

    def import_batch(
        self,
        *,
        source: str,
        profile: str,
        file_name: str,
        file_hash: str,
        imported_at: dt.datetime,
        rows: Iterable[Record | RejectedRow | UnmatchedRow],
        cursor: tuple[str, str] | None = None,
        voided: Iterable[str] = (),
    ) -> Batch:
        """Store one file's (or one pull's) rows as one batch, atomically: all of it or nothing.

        ``cursor`` (``(source, position)``) is stored in the same transaction; ``voided`` record
        ids of ``source`` are removed after the rows are stored (see :class:`~peertrain.ledger.Ledger`).
        """
        return self.import_prepared(
            source=source, profile=profile, file_name=file_name, file_hash=file_hash, imported_at=imported_at,
            chunks=prepare_chunks(rows, source), cursor=cursor, voided=voided,
        )

"""Rows laid out as the SQLite ledger stores them, for :mod:`peertrain.ledger.sqlite` (which
re-exports these names): :class:`PreparedChunk` (the importer's fast path hands the ledger these),
:data:`RecordRow` and :data:`HeldTuple`, and :func:`record_row` / :func:`held_row` to make them.
"""

from __future__ import annotations

import json

from attrs import Factory, define

from peertrain.ledger import Record, RejectedRow, UnmatchedRow


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

"""Importing exports into the ledger: every row ends imported, duplicate, rejected or unmatched.

:func:`import_file` reads one export with a profile, turns each row into a ledger
:class:`~peertrain.ledger.Record` (a matched person and course with parsed values), a
:class:`~peertrain.ledger.RejectedRow` (with file, row, field and reason) or an
:class:`~peertrain.ledger.UnmatchedRow` (an unknown person or course, held to be matched later),
and stores them as one batch in one transaction. :func:`rematch` retries held rows once the roster
or the catalogue has learned who or what they are.

Only rows whose status the profile maps to ``completed`` count as training; in-progress and
failed enrolments are recorded with their status and no credit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

from attrs import frozen

from peertrain._classify import (
    _HELD_COURSES,
    _HELD_PEOPLE,
    People,
    _Classifier,
    _find_course,
    _record,
    person_key,
)
from peertrain._fastcsv import _FastCSV
from peertrain._files import shown
from peertrain.catalog import Catalogue
from peertrain.exports import iter_rows
from peertrain.ledger import Batch, Ledger, Outcome, Record, RejectedRow, UnmatchedRow
from peertrain.ledger.sqlite import CHUNK_ROWS, SQLiteLedger
from peertrain.model import Course
from peertrain.profiles import COURSE_MATCHERS, PEOPLE_MATCHERS, ExportFormat, Profile

__all__ = ["ImportResult", "People", "file_sha256", "import_file", "person_key", "rematch"]

#: Whether CSV imports into an SQLite ledger take the fast path (tests compare both paths).
_FAST_CSV = True


@frozen
class ImportResult:
    """One file's import: its batch (with the counts) and what else the coordinator should know."""

    file: Path
    batch: Batch
    #: An earlier live batch that imported a byte-identical file, if any.
    same_file_as: int | None = None


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def import_file(
    ledger: Ledger,
    profile: Profile,
    path: Path,
    catalogue: Catalogue,
    *,
    course: Course | None = None,
    now: dt.datetime | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import one export file as one batch (one transaction) and return its counts.

    ``course`` is the catalogue course for exports that carry none (a Moodle report is per
    course). ``progress`` is called with the number of rows read so far, every 10,000 rows.
    Raises :class:`~peertrain.errors.PeertrainError` subclasses for unreadable files; then
    nothing of the file is stored.
    """
    when = now or dt.datetime.now(dt.UTC)
    file_hash = file_sha256(path)
    earlier = ledger.batch_with_hash(profile.source, file_hash)
    classify = _Classifier(profile, People(ledger.members()), catalogue, ledger.timezone(), course)
    if _FAST_CSV and isinstance(ledger, SQLiteLedger) and profile.format is ExportFormat.CSV:
        batch = ledger.import_prepared(
            source=profile.source, profile=profile.id, file_name=shown(path.name), file_hash=file_hash,
            imported_at=when, chunks=_FastCSV(classify, path, progress, CHUNK_ROWS).chunks(),
        )
        return ImportResult(file=path, batch=batch, same_file_as=earlier.id if earlier else None)

    def rows() -> Iterator[Record | RejectedRow | UnmatchedRow]:
        count = 0
        for raw in iter_rows(path, profile):
            yield classify(raw)
            count += 1
            if progress is not None and count % 10_000 == 0:
                progress(count)
        if progress is not None:
            progress(count)

    batch = ledger.import_batch(
        source=profile.source, profile=profile.id, file_name=shown(path.name), file_hash=file_hash,
        imported_at=when, rows=rows(),
    )
    return ImportResult(file=path, batch=batch, same_file_as=earlier.id if earlier else None)


def rematch(ledger: Ledger, catalogue: Catalogue) -> dict[Outcome, int]:
    """Retry every held row against the current roster and catalogue.

    Rows that now match become records of their original batch (imported, or duplicate when the
    same record is already there); the rest stay held. Returns the count of each outcome, with
    :attr:`Outcome.UNMATCHED` for rows still held.
    """
    people = People(ledger.members())
    result = {Outcome.IMPORTED: 0, Outcome.DUPLICATE: 0, Outcome.UNMATCHED: 0}
    for held in ledger.held():
        values = held.values
        member = people.match(values, _held_order(values.get(_HELD_PEOPLE), PEOPLE_MATCHERS))
        course = _find_course(values, _held_order(values.get(_HELD_COURSES), COURSE_MATCHERS), catalogue)
        if member is None or course is None:
            result[Outcome.UNMATCHED] += 1
            continue
        record = _record(values, member, course, held.origin)
        result[ledger.resolve(held.id, record)] += 1
    return result


def _held_order(text: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """The matching order a held row was imported with (``default`` for rows held before it was kept)."""
    return tuple(text.split(",")) if text else default

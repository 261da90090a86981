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
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from attrs import frozen

from peertrain._files import shown
from peertrain._types import StrPath
from peertrain.errors import InputError
from peertrain.imports._classify import (
    _HELD_COURSES,
    _HELD_PEOPLE,
    DateOrderRefusedError,
    People,
    _Classifier,
    _find_course,
    _record,
    person_key,
)
from peertrain.imports._columnar import _Columnar, layout
from peertrain.imports._fastcsv import _FastCSV
from peertrain.imports.exports import ExportError, iter_rows
from peertrain.imports.profiles import COURSE_MATCHERS, PEOPLE_MATCHERS, ExportFormat, Profile
from peertrain.ledger import Batch, Ledger, Outcome, Record, RejectedRow, UnmatchedRow
from peertrain.ledger.sqlite import CHUNK_ROWS
from peertrain.rules.catalog import Catalogue
from peertrain.rules.model import Course

__all__ = [
    "ImportResult", "People", "course_of_report", "courses_of_reports", "file_sha256", "import_file",
    "moodle_file_name", "person_key", "rematch",
]

#: `` (1)``, `` (2)``: what a browser adds to the name of a second download of the same file.
_DOWNLOAD_COPY = re.compile(r"\s*\(\d+\)$")
#: Whether CSV imports into an SQLite ledger take the fast path (tests compare both paths).
_FAST_CSV = True
#: Whether such an import reads a plain enough CSV file in Arrow batches (the columnar path; other
#: files take the fast path). On: on the 1,000,000-row benchmark it is a little faster than the fast
#: path and peaks under the target's 400 MB, though above the fast path (docs/ledger.md#performance).
_COLUMNAR = True


@frozen
class ImportResult:
    """One file's import: its batch (with the counts) and what else the coordinator should know."""

    file: Path
    batch: Batch
    #: An earlier live batch that imported a byte-identical file, if any.
    same_file_as: int | None = None


def file_sha256(path: StrPath) -> str:
    """The SHA-256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def moodle_file_name(short_name: str) -> str:
    """The name Moodle gives a course's completion report download: ``completion-`` and the
    course's short name, lower-cased, every byte other than ``a-z 0-9 -`` made ``_`` (so
    ``"ICISF GCI"`` gives ``completion-icisf_gci``; an accented letter, two bytes, gives ``__``)."""
    folded = re.sub(rb"[^a-z0-9-]", b"_", short_name.lower().encode("utf-8"))
    return "completion-" + folded.decode("ascii")


def course_of_report(path: StrPath, catalogue: Catalogue) -> Course | None:
    """The catalogue course a Moodle completion report is about, read off its file name.

    Moodle names the download ``completion-<short name>.csv`` (see :func:`moodle_file_name`); a
    browser may add `` (1)`` to a second download. The name matches a course when one of the
    course's id, title or aliases gives that file name. ``None`` when no course does; an
    :class:`~peertrain.errors.InputError` when two courses do.
    """
    stem = _DOWNLOAD_COPY.sub("", Path(path).stem).lower()
    if not stem.startswith("completion-"):
        return None
    found = {
        course.id: course
        for course in catalogue
        for name in (course.id, course.title, *course.aliases)
        if moodle_file_name(name) == stem
    }
    if len(found) > 1:
        raise InputError(
            shown(path), f"the file name fits the courses {', '.join(sorted(found))}: name the course with --course"
        )
    return next(iter(found.values()), None)


def courses_of_reports(
    paths: Sequence[StrPath], catalogue: Catalogue, course: Course | None = None
) -> list[Course]:
    """The course of each report of a profile with ``course_from = "option"`` (one course per
    file), decided for every file before anything is stored.

    A file's course comes from its name (:func:`course_of_report`), or from ``course`` (the
    command line's ``--course``) when a single file is given. Refused with an
    :class:`~peertrain.errors.InputError` naming the file: a name that names another course than
    ``course``; one ``course`` for several files whose names do not name it; a file whose course
    cannot be told.
    """
    courses = []
    for path in paths:
        named = course_of_report(path, catalogue)
        if named is not None and course is not None and named.id != course.id:
            raise InputError(
                shown(path),
                f"the file name says the report is about {named.id!r} ({named.title}), but --course says "
                f"{course.id!r}; nothing was imported. Check the file, or leave out --course",
            )
        if named is None and course is not None and len(paths) > 1:
            raise InputError(
                shown(path),
                f"--course {course.id!r} would credit {len(paths)} reports to one course, but a Moodle report "
                "covers one course and this file's name does not name one; nothing was imported. Import each "
                "report with its own --course, or keep Moodle's file names (completion-<short name>.csv)",
            )
        found = named or course
        if found is None:
            raise InputError(
                shown(path),
                "cannot tell which course this report is about: its name is not Moodle's "
                "completion-<short name>.csv for a catalogue course id, title or alias; nothing was imported. "
                "Name the course with --course (one file at a time), or add the short name as an alias "
                "in a catalogue given with --catalog",
            )
        courses.append(found)
    return courses


def import_file(
    ledger: Ledger,
    profile: Profile,
    path: StrPath,
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
    path = Path(path)
    file_hash = file_sha256(path)
    earlier = ledger.batch_with_hash(profile.source, file_hash)
    try:
        batch = _import(
            ledger, profile, path, catalogue, course=course, when=now or dt.datetime.now(dt.UTC), file_hash=file_hash,
            progress=progress,
        )
    except DateOrderRefusedError as refusal:
        raise ExportError(
            shown(path),
            f"{refusal.reason}. Nothing of the file was stored. If the file is written that way, set "
            f"date_formats in profile {profile.id!r} to that order (see docs/profiles.md)",
            row=refusal.row,
            field=refusal.field,
        ) from None
    return ImportResult(file=path, batch=batch, same_file_as=earlier.id if earlier else None)


def _import(
    ledger: Ledger,
    profile: Profile,
    path: Path,
    catalogue: Catalogue,
    *,
    course: Course | None,
    when: dt.datetime,
    file_hash: str,
    progress: Callable[[int], None] | None,
) -> Batch:
    """The file's rows stored as one batch (one transaction: an exception stores nothing)."""
    classify = _Classifier(profile, People(ledger.members()), catalogue, ledger.timezone(), course)
    # Both backends take rows laid out as stored (``import_prepared`` of SQLiteLedger and of
    # PostgresLedger, which this module does not import: its driver is optional).
    prepared = getattr(ledger, "import_prepared", None)
    if _FAST_CSV and prepared is not None and profile.format is ExportFormat.CSV:
        fast = _FastCSV(classify, path, progress, CHUNK_ROWS)
        columnar = getattr(ledger, "import_columnar", None)  # the SQLite and PostgreSQL ledgers
        found = layout(path, profile) if _COLUMNAR and columnar is not None else None
        if found is not None and columnar is not None:
            return columnar(  # type: ignore[no-any-return]
                source=profile.source, profile=profile.id, file_name=shown(path.name), file_hash=file_hash,
                imported_at=when, chunks=_Columnar(fast, found, progress).chunks(),
            )
        return prepared(  # type: ignore[no-any-return]
            source=profile.source, profile=profile.id, file_name=shown(path.name), file_hash=file_hash,
            imported_at=when, chunks=fast.chunks(),
        )

    def rows() -> Iterator[Record | RejectedRow | UnmatchedRow]:
        count = 0
        for raw in iter_rows(path, profile):
            yield classify(raw)
            count += 1
            if progress is not None and count % 10_000 == 0:
                progress(count)
        if progress is not None:
            progress(count)

    return ledger.import_batch(
        source=profile.source, profile=profile.id, file_name=shown(path.name), file_hash=file_hash,
        imported_at=when, rows=rows(),
    )


def rematch(ledger: Ledger, catalogue: Catalogue) -> dict[Outcome, int]:
    """Retry every held row against the current roster and catalogue.

    Rows that now match become records of their original batch (imported, or duplicate when the
    same record is already there), all in one transaction; the rest stay held. Returns the count of each outcome, with
    :attr:`Outcome.UNMATCHED` for rows still held.
    """
    people = People(ledger.members())
    result = {Outcome.IMPORTED: 0, Outcome.DUPLICATE: 0, Outcome.UNMATCHED: 0}
    resolutions = []
    for held in ledger.held():
        values = held.values
        member = people.match(values, _held_order(values.get(_HELD_PEOPLE), PEOPLE_MATCHERS))
        course = _find_course(values, _held_order(values.get(_HELD_COURSES), COURSE_MATCHERS), catalogue)
        if member is None or course is None:
            result[Outcome.UNMATCHED] += 1
            continue
        resolutions.append((held.id, _record(values, member, course, held.origin)))
    # One transaction: the journal hashes each batch once, not once per row.
    for outcome in ledger.resolve_many(resolutions) if resolutions else []:
        result[outcome] += 1
    return result


def _held_order(text: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """The matching order a held row was imported with (``default`` for rows held before it was kept)."""
    return tuple(text.split(",")) if text else default

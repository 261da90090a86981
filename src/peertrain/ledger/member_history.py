"""One member's training history as a file, so that training follows the person to another ledger:
``peertrain ledger export-member`` writes it, ``peertrain ledger import-member`` stores it as one batch.

The file is JSON (UTF-8), written atomically and readable by its owner alone (it holds personal
data)::

    {
      "format": "peertrain-member-history", "version": 1,
      "exported_at": "2026-11-23T12:00:00+00:00", "timezone": "America/Chicago",
      "member": {"id": "PL-05", "name": "...", "agency": "...", "roles": [...], "functions": [...],
                 "joined_on": "2019-04-01", "email": "...", "portal_user_id": null},
      "batches": [{"id": 1, "source": "cops-portal", "profile": "cops-portal-csv",
                   "file_name": "transcript.csv", "file_hash": "<sha256>", "imported_at": "..."}],
      "records": [{"id": "PL-05/qpr/2025-03-01", "course": "qpr", "on": "2025-03-01", "status": "completed",
                   "hours": "1.50", "delivery": "online", "provider": "QPR Institute", "source": "cops-portal",
                   "record_id": "RPS-25-0031", "origin": "transcript.csv:4", "batch": 1}],
      "content_sha256": "<sha256>"
    }

``records`` are every record of the member (completed, in progress, failed) of batches not
retracted, in id order, with the source and batch they came in; ``batches`` those batches; hours are
text as stored. ``content_sha256`` is the SHA-256 of the canonical JSON
(:func:`peertrain.ledger._journal.canonical`) of everything but ``exported_at`` and itself: the
same history exported twice has the same hash, and a file changed since is refused.

Imported, the history is one batch of source :data:`SOURCE` whose file hash is the content hash:
a file whose history is already in the ledger stores nothing (not even an empty batch). Each
record keeps its id (``member/course/date``: a record the ledger already has is a duplicate); its
source record id becomes ``<original source>/<original record id, or the record's id>`` and its
origin ``<original source> batch <n>: <original origin>``, so the moved records stay
distinguishable by where they came from. The member is added to the roster when absent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

import cattrs
from attrs import field, frozen

from peertrain._files import shown, write_text
from peertrain.errors import InputError
from peertrain.ledger import Batch, Ledger, LedgerError, Record
from peertrain.ledger._journal import canonical
from peertrain.rules.convert import error_messages, make_converter
from peertrain.rules.model import Member

__all__ = [
    "FORMAT",
    "SOURCE",
    "VERSION",
    "ExportedBatch",
    "ExportedRecord",
    "MemberHistory",
    "MemberImport",
    "export_member",
    "import_member",
    "read_member_history",
    "write_member_history",
]

#: The ``format`` of the file, and its ``version`` (a newer one is refused).
FORMAT, VERSION = "peertrain-member-history", 1
#: The source of the batches an imported history makes.
SOURCE = "member-history"

_converter = make_converter()


@frozen
class ExportedBatch:
    """A batch a member's records came in, as the exporting ledger has it (times in UTC, ISO 8601)."""

    id: int
    source: str
    profile: str
    file_name: str
    file_hash: str
    imported_at: str


@frozen
class ExportedRecord:
    """One record of the member; ``batch`` is the id of its batch in the exporting ledger."""

    id: str
    course: str
    on: dt.date | None
    status: str
    hours: str | None
    delivery: str | None
    provider: str | None
    source: str
    record_id: str | None
    origin: str
    batch: int


@frozen
class MemberHistory:
    """A member's history as the file holds it (see the module docs)."""

    format: str = field(default=FORMAT, kw_only=True)
    version: int = field(default=VERSION, kw_only=True)
    exported_at: str
    timezone: str
    member: Member
    batches: list[ExportedBatch]
    records: list[ExportedRecord]
    content_sha256: str = ""

    def computed_sha256(self) -> str:
        """The hash of the history's content (everything but the time of export and the hash)."""
        data = _converter.unstructure(self)
        for key in ("exported_at", "content_sha256"):
            data.pop(key)
        return hashlib.sha256(canonical(data).encode("utf-8")).hexdigest()


@frozen
class MemberImport:
    """What :func:`import_member` did: the batch stored (``None`` when the history was already in
    the ledger: ``earlier`` is then the batch that has it), and whether the member was added."""

    batch: Batch | None
    earlier: Batch | None
    member_added: bool


def export_member(ledger: Ledger, member_id: str, *, at: dt.datetime) -> MemberHistory:
    """The history of ``member_id`` in ``ledger``; a member not on the roster is an error."""
    member = next((m for m in ledger.members() if m.id == member_id), None)
    if member is None:
        raise LedgerError(f"{member_id!r} is not on the ledger's roster")
    batches = {b.id: b for b in ledger.batches()}
    records = [
        ExportedRecord(
            id=r.id, course=r.course, on=r.on, status=r.status, hours=None if r.hours is None else str(r.hours),
            delivery=r.delivery, provider=r.provider, source=batches[b].source, record_id=r.record_id,
            origin=r.origin, batch=b,
        )
        for r, b in ledger.records(member_id)
    ]
    used = sorted({r.batch for r in records})
    history = MemberHistory(
        exported_at=at.astimezone(dt.UTC).isoformat(timespec="seconds"), timezone=ledger.timezone(), member=member,
        batches=[
            ExportedBatch(
                id=b, source=batches[b].source, profile=batches[b].profile, file_name=batches[b].file_name,
                file_hash=batches[b].file_hash,
                imported_at=batches[b].imported_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
            )
            for b in used
        ],
        records=records,
    )
    return _with_hash(history)


def _with_hash(history: MemberHistory) -> MemberHistory:
    data = _converter.unstructure(history)
    data["content_sha256"] = history.computed_sha256()
    return _converter.structure(data, MemberHistory)


def write_member_history(history: MemberHistory, path: Path | str) -> None:
    """Write the file: JSON, owner-only, atomically."""
    write_text(path, json.dumps(_converter.unstructure(history), ensure_ascii=False, indent=2) + "\n")


def read_member_history(path: Path | str) -> MemberHistory:
    """Read and check a file written by :func:`write_member_history`: its format, a version this
    peertrain reads, every field, and its content hash."""
    name = shown(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(name, f"cannot be read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise InputError(name, f"is not JSON: {exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(name, f"is not a member history (its 'format' is not {FORMAT!r})")
    if not isinstance(data.get("version"), int) or data["version"] > VERSION:
        raise InputError(
            name, f"member history version {data.get('version')!r} is newer than this peertrain reads ({VERSION})"
        )
    try:
        history = _converter.structure(data, MemberHistory)
    except (cattrs.BaseValidationError, ValueError, TypeError) as exc:
        messages = error_messages(exc) if isinstance(exc, cattrs.BaseValidationError) else [("", str(exc))]
        path_text, message = messages[0]
        raise InputError(name, f"{path_text or 'the file'}: {message}") from None
    if history.computed_sha256() != history.content_sha256:
        raise InputError(name, "its content does not match its content_sha256: the file was changed after export")
    batches = {b.id for b in history.batches}
    for record in history.records:
        if not record.id.startswith(f"{history.member.id}/") or record.batch not in batches:
            raise InputError(name, f"record {record.id!r} is not one of the member's or names no batch of the file")
    return history


def _records(history: MemberHistory) -> Iterable[Record]:
    for r in history.records:
        yield Record(
            member=history.member.id, course=r.course, on=r.on, status=r.status,
            hours=None if r.hours is None else Decimal(r.hours), delivery=r.delivery, provider=r.provider,
            record_id=f"{r.source}/{r.record_id or r.id}", origin=f"{r.source} batch {r.batch}: {r.origin}",
        )


def import_member(ledger: Ledger, history: MemberHistory, *, file_name: str, at: dt.datetime) -> MemberImport:
    """Store a member's history as one batch (see the module docs). A member with the same id but
    another name already on the roster is refused: it is another person."""
    earlier = ledger.batch_with_hash(SOURCE, history.content_sha256)
    if earlier is not None:
        return MemberImport(None, earlier, member_added=False)
    member = history.member
    present = next((m for m in ledger.members() if m.id == member.id), None)
    if present is not None and present.name.casefold() != member.name.casefold():
        raise LedgerError(
            f"member id {member.id!r} is already {present.name!r} in this ledger, not {member.name!r}; "
            "nothing imported"
        )
    added = False
    if present is None:
        ledger.put_members([member])
        added = True
    batch = ledger.import_batch(
        source=SOURCE, profile=SOURCE, file_name=file_name, file_hash=history.content_sha256, imported_at=at,
        rows=_records(history),
    )
    return MemberImport(batch, None, member_added=added)

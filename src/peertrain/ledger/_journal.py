"""The ledger's journal: a tamper-evident, hash-chained history of everything that changed its rows.

Every change to a batch's rows appends one entry in the same transaction: an import or pull
(``batch``), a retraction (``retraction``), a held row turned into a record (``rematch``), and the
records of other batches that a pull's voided statements removed (``void``, one per batch touched).
An entry holds its sequence number, its kind, its reference (the batch id), the SHA-256 of its
*content*, the previous entry's hash, and its own hash::

    content_sha256 = SHA-256(canonical(content))
    sha256         = SHA-256(prev_sha256 + canonical({"seq", "kind", "ref", "content_sha256"}))

with ``prev_sha256`` of the first entry 64 zeros (hex digests are hashed as their ASCII text). The
content of a batch entry is the batch *as stored after the change*: its row in ``batches`` (every
column, times in UTC ISO 8601 to the second, and the record ids its pull voided) and, for each of
its records, held rows and rejected rows, their number and the SHA-256 of the canonical JSON
array of their rows, each row an array of its columns (records in id order, held rows by
fingerprint, rejected rows by file and row, ties by their JSON; ids the database allocates are
left out). The
canonical form is JSON with sorted keys, no spaces, UTF-8, dates ``YYYY-MM-DD``, hours as the
text stored, no floats: the SQLite and the PostgreSQL ledger give the same hashes for the same
history. ``transfer`` is reserved for moves of a member between agencies: :meth:`Journal.append`
takes any kind, and :meth:`Journal.verify` checks such entries along the chain, and their content
too when given a function that recomputes it.

:meth:`Journal.verify` recomputes every entry's hash along the chain and each batch's content from
its stored rows, which must equal the content of the batch's latest entry; it names the first
entry that does not match. Works on either backend through a query function (``?`` placeholders).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from peertrain.ledger._chain import (
    BATCH,
    BATCH_KINDS,
    GENESIS,
    REMATCH,
    RETRACTION,
    TRANSFER,
    VOID,
    JournalEntry,
    Mismatch,
    Verification,
    _int,
    _json,
    _Rows,
    _sha,
    _stamp,
    canonical,
    entry_hash,
)

__all__ = [
    "BATCH",
    "BATCH_KINDS",
    "GENESIS",
    "REMATCH",
    "RETRACTION",
    "TRANSFER",
    "VOID",
    "Journal",
    "JournalEntry",
    "Mismatch",
    "Verification",
    "canonical",
    "entry_hash",
]


#: The ``journal`` table's columns, in order.
COLUMNS = "seq, kind, ref, content, content_sha256, prev_sha256, sha256"

Query = Callable[[str, tuple[Any, ...]], Iterable[Sequence[Any]]]


_BATCH_SQL = (
    "SELECT id, source, profile, file_name, file_hash, imported_at, rows_read, imported, not_completed, "
    "duplicates, rejected, unmatched, retracted_at FROM batches"
)
_COUNTS = ("rows_read", "imported", "not_completed", "duplicates", "rejected", "unmatched")
_RECORD_SQL = (
    "SELECT batch_id, id, member_id, course_id, {on_date}, status, hours, delivery, provider, source, record_id, "
    "origin FROM records"
)
_TRANSFER_SQL = "SELECT id, member_id, from_agency, to_agency, at FROM transfers WHERE id = ?"
#: The last entry's number and hash (a PostgreSQL ledger asks a function that sees every entry).
_HEAD_SQL = "SELECT seq, sha256 FROM journal ORDER BY seq DESC LIMIT 1"
_HELD_SQL = "SELECT batch_id, source, origin, reason, fingerprint, payload FROM held"
_REJECTED_SQL = 'SELECT batch_id, file, "row", field, reason, raw FROM rejected'


class Journal:
    """A ledger's journal, read and written through ``query`` (``?`` placeholders; rows as sequences).

    ``stream`` (by default ``query``) reads rows that may be many; ``lock`` is called before an
    entry is appended and must serialise appends until the transaction ends (the PostgreSQL ledger
    takes an advisory lock; an SQLite write transaction already is exclusive); ``collate`` makes
    text sort byte by byte, as SQLite's default does (PostgreSQL: ``COLLATE "C"``); ``on_date``
    reads a record's date as ``YYYY-MM-DD`` text (PostgreSQL: ``on_date::text``).
    ``head_sql`` reads the head
    (a PostgreSQL agency role through a function that sees every entry); ``whole``, given a batch id
    before its entry is computed, raises when the writer does not see all of that batch's rows;
    ``digest``, given ``"records"`` or ``"held"`` and that part's query for one batch, returns the
    part of the content, or ``None`` to have it computed here (the columnar import computes it
    over Arrow batches).
    """

    def __init__(
        self, query: Query, *, stream: Query | None = None, lock: Callable[[], None] | None = None,
        collate: str = "", on_date: str = "on_date", head_sql: str = _HEAD_SQL,
        whole: Callable[[int], None] | None = None,
        digest: Callable[[str, str, tuple[Any, ...]], dict[str, Any] | None] | None = None,
    ) -> None:
        self._digest = digest
        self._query = query
        self._whole = whole
        self._head_sql = head_sql
        self._stream = stream or query
        self._lock = lock
        self._collate = collate
        self._on_date = on_date

    # -- content -----------------------------------------------------------------------

    def contents(self, batch_id: int | None = None) -> dict[int, dict[str, Any]]:
        """The content of one batch (or of every batch, and of rows whose batch row is missing) as
        stored now, by batch id."""
        where, params = (" WHERE batch_id = ?", (batch_id,)) if batch_id is not None else ("", ())
        parts: dict[int, dict[str, Any]] = {}

        def rows_of(batch: int, part: str) -> _Rows:
            entry = parts.setdefault(batch, {"batch": None})
            return entry.setdefault(part, _Rows())  # type: ignore[no-any-return]

        batch_where = " WHERE id = ?" if batch_id is not None else ""
        for r in self._query(_BATCH_SQL + batch_where, params):
            meta = {"id": _int(r[0]), "source": r[1], "profile": r[2], "file_name": r[3], "file_hash": r[4],
                    "imported_at": _stamp(r[5]), "retracted_at": _stamp(r[12])}
            meta.update({name: _int(value) for name, value in zip(_COUNTS, r[6:12], strict=True)})
            voided = list(self._query("SELECT value FROM meta WHERE key = ?", (f"retracted:{_int(r[0])}",)))
            meta["voided"] = _json(voided[0][0]) if voided else []
            parts.setdefault(_int(r[0]), {})["batch"] = meta
        # Each kind of row in the byte order of a key that is never NULL (and unique, but for rows
        # edited by hand): records by id, held rows by fingerprint, rejected rows by file and row.
        records = _RECORD_SQL.format(on_date=self._on_date) + where + f" ORDER BY id{self._collate}"
        held = _HELD_SQL + where + f" ORDER BY fingerprint{self._collate}"
        done: dict[str, Any] = {}
        if self._digest is not None and batch_id is not None:
            done = {p: d for p, sql in (("records", records), ("held", held)) if (d := self._digest(p, sql, params))}
            parts.setdefault(batch_id, {"batch": None}).update(done)
        current, rows = None, _Rows()
        for r in self._stream(records, params) if "records" not in done else ():  # a tuple of text per record
            if r[0] != current:
                current = r[0]
                rows = rows_of(_int(current), "records")
            rows.add(r[1:], r[1])
        for r in self._stream(held, params) if "held" not in done else ():
            rows_of(_int(r[0]), "held").add([r[1], r[2], r[3], r[4], _json(r[5])], r[4])
        for r in self._stream(_REJECTED_SQL + where + f' ORDER BY file{self._collate}, "row"', params):
            rows_of(_int(r[0]), "rejected").add([r[1], _int(r[2]), r[3], r[4], _json(r[5])], (r[1], r[2]))
        result: dict[int, dict[str, Any]] = {}
        for batch, entry in parts.items():
            content: dict[str, Any] = {"batch": entry.get("batch")}
            for part in ("records", "held", "rejected"):
                done = entry.get(part, _Rows())
                content[part] = done if isinstance(done, dict) else done.digest()
            result[batch] = content
        return result

    # -- appending ---------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """The last entry's sequence number and hash (``0`` and 64 zeros when empty)."""
        rows = list(self._query(self._head_sql, ()))
        return (int(rows[0][0]), str(rows[0][1])) if rows else (0, GENESIS)

    def append(self, kind: str, ref: int, content: Any) -> JournalEntry:
        """Append one entry (in the caller's transaction) whose content is ``content``."""
        if self._lock is not None:
            self._lock()
        seq, prev = self.head()
        text = canonical(content)
        content_sha = _sha(text)
        entry = JournalEntry(seq + 1, kind, ref, content_sha, prev, entry_hash(prev, seq + 1, kind, ref, content_sha))
        self._query(
            f"INSERT INTO journal ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (entry.seq, kind, ref, text, content_sha, prev, entry.sha256),
        )
        return entry

    def record(self, kind: str, batch_id: int) -> JournalEntry:
        """Append an entry for a change to a batch: its content is the batch as stored now."""
        if self._lock is not None:
            self._lock()  # before reading: every change committed before ours is then visible
        if self._whole is not None:  # raises when the writer cannot see all of the batch
            self._whole(batch_id)
        content = self.contents(batch_id).get(batch_id)
        return self.append(kind, batch_id, content)

    def transfer_content(self, transfer_id: int) -> Any:
        """A member's move between agencies as stored now (``None`` when its row is gone)."""
        rows = list(self._query(_TRANSFER_SQL, (transfer_id,)))
        if not rows:
            return None
        r = rows[0]
        return {"id": _int(r[0]), "member": r[1], "from": r[2], "to": r[3], "at": _stamp(r[4])}

    def record_transfer(self, transfer_id: int) -> JournalEntry:
        """Append an entry for a member's move between agencies (``ledger transfer``)."""
        if self._lock is not None:
            self._lock()
        return self.append(TRANSFER, transfer_id, self.transfer_content(transfer_id))

    def backfill(self) -> int:
        """Journal every batch of a ledger that had no journal (a migration): in id order, each as
        it stands, followed by its retraction when retracted. Returns the number of entries."""
        contents = self.contents()
        count = 0
        for batch_id in sorted(contents):
            content = contents[batch_id]
            if content["batch"] is None:  # rows of no batch: verify names them
                continue
            self.append(BATCH, batch_id, content)
            count += 1
            if content["batch"]["retracted_at"] is not None:
                self.append(RETRACTION, batch_id, content)
                count += 1
        return count

    def entries(self) -> list[JournalEntry]:
        """Every entry, in order."""
        return [
            JournalEntry(int(r[0]), r[1], int(r[2]), r[4], r[5], r[6])
            for r in self._query(f"SELECT {COLUMNS} FROM journal ORDER BY seq", ())
        ]

    # -- verifying ---------------------------------------------------------------------

    def verify(self, others: Mapping[str, Callable[[int], Any]] | None = None) -> Verification:
        """Recompute the chain and every batch's content; see :class:`Verification`.

        ``others`` maps another kind of entry (``transfer``) to a function giving the current
        content of its reference, which must equal that of the reference's latest entry of that
        kind; entries of a kind neither a batch's nor in ``others`` are checked along the chain only.
        """
        others = {TRANSFER: self.transfer_content, **(others or {})}
        problems: list[Mismatch] = []
        prev, expected, count = GENESIS, 1, 0
        latest: dict[int, tuple[int, str, str, str]] = {}
        latest_other: dict[tuple[str, int], tuple[int, str]] = {}
        for r in self._query(f"SELECT {COLUMNS} FROM journal ORDER BY seq", ()):
            seq, kind, ref, text, content_sha, stored_prev, stored = int(r[0]), r[1], _int(r[2]), r[3], r[4], r[5], r[6]
            count += 1
            reason = None
            if seq != expected:
                reason = f"expected entry {expected} here: entries are missing or renumbered"
            elif stored_prev != prev:
                reason = "its previous-entry hash is not the hash of the entry before it"
            elif entry_hash(prev, seq, kind, ref, content_sha) != stored:
                reason = "its hash does not match its sequence number, kind, reference and content hash"
            elif _sha(text) != content_sha:
                reason = "its stored content does not match its content hash"
            if reason is not None:
                problems.append(Mismatch(seq, kind, ref, reason))
            if kind in BATCH_KINDS:
                latest[ref] = (seq, kind, text, content_sha)
            elif kind in others:
                latest_other[kind, ref] = (seq, content_sha)
            prev, expected = stored, seq + 1
        current = self.contents()
        for ref, (seq, kind, text, content_sha) in latest.items():
            now = current.pop(ref, None)
            if now is None or now["batch"] is None:
                problems.append(Mismatch(seq, kind, ref, f"batch {ref} is missing from the ledger"))
            elif _sha(canonical(now)) != content_sha:
                problems.append(Mismatch(seq, kind, ref, _difference(_json(text), now)))
        for ref in sorted(current):
            problems.append(Mismatch(None, BATCH, ref, "no journal entry covers this batch"))
        for (kind, ref), (seq, content_sha) in latest_other.items():
            if _sha(canonical(others[kind](ref))) != content_sha:
                problems.append(Mismatch(seq, kind, ref, f"the {kind} as stored now differs from this entry"))
        problems.sort(key=lambda m: (m.seq is None, m.seq or 0))
        return Verification(count, prev, tuple(problems))


def _difference(journal: Any, now: dict[str, Any]) -> str:
    """What differs between the content a journal entry recorded and the batch as stored."""
    if not isinstance(journal, dict):
        return "its stored content is unreadable"
    parts: list[str] = []
    old, new = journal.get("batch") or {}, now["batch"] or {}
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            parts.append(f"the batch's {key} is {new.get(key)!r}, the journal says {old.get(key)!r}")
    for part in ("records", "held", "rejected"):
        was, is_now = journal.get(part) or {}, now[part]
        if was.get("count") != is_now["count"]:
            parts.append(f"{is_now['count']} {part} row(s) stored, the journal says {was.get('count')}")
        elif was.get("sha256") != is_now["sha256"]:
            parts.append(f"the content of its {is_now['count']} {part} row(s) differs")
    return "; ".join(parts) or "its content differs"

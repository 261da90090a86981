"""The journal's canonical form and values (see :mod:`peertrain.ledger._journal`, which re-exports
them): entry kinds, canonical JSON, the chained entry hash, how stored values are read for hashing
(:func:`_stamp`, :func:`_int`, :func:`_json`), the rows of one kind of a batch hashed as they come
(:class:`_Rows`), and the entries and results of a verification."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from attrs import frozen

BATCH, RETRACTION, REMATCH, VOID, TRANSFER = "batch", "retraction", "rematch", "void", "transfer"
#: The kinds whose reference is a batch, whose content is that batch as stored.
BATCH_KINDS = frozenset({BATCH, RETRACTION, REMATCH, VOID})
#: The previous hash of the first entry.
GENESIS = "0" * 64

def _unusual(value: Any) -> str:
    """A value JSON has no form for (bytes written by hand into a text column): tagged text."""
    return f"{type(value).__name__}:{value!r}"


_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_unusual
)


def canonical(value: Any) -> str:
    """``value`` (JSON data without floats) as canonical JSON: sorted keys, no spaces, not escaped."""
    return _ENCODER.encode(value)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def entry_hash(prev_sha256: str, seq: int, kind: str, ref: int, content_sha256: str) -> str:
    """The hash of one entry, chained to the previous one."""
    entry = canonical({"seq": seq, "kind": kind, "ref": ref, "content_sha256": content_sha256})
    return _sha(prev_sha256 + entry)


@frozen
class JournalEntry:
    """One entry of the journal as stored."""

    seq: int
    kind: str
    ref: int
    content_sha256: str
    prev_sha256: str
    sha256: str


@frozen
class Mismatch:
    """An entry of the journal that does not match the ledger (``seq`` is ``None`` for a batch that
    no entry covers), and what differs."""

    seq: int | None
    kind: str
    ref: int
    reason: str

    def __str__(self) -> str:
        ref = f"batch {self.ref}" if self.kind in BATCH_KINDS else f"{self.kind} {self.ref}"
        where = f"entry {self.seq} ({self.kind}, {ref})" if self.seq is not None else ref
        return f"{where}: {self.reason}"


@frozen
class Verification:
    """The result of :meth:`peertrain.ledger.Ledger.verify`: how many entries were checked, the hash
    of the last one (``head``, 64 zeros when the journal is empty) and every mismatch found, first
    entry first (:attr:`first`; none when the ledger verifies)."""

    entries: int
    head: str
    mismatches: tuple[Mismatch, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether every entry matches."""
        return not self.mismatches

    @property
    def first(self) -> Mismatch | None:
        """The first entry that does not match."""
        return self.mismatches[0] if self.mismatches else None


def _int(value: Any) -> Any:
    if value is None or isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return str(value)


def _stamp(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat(timespec="seconds")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not canonical JSON")


def _json(text: Any) -> Any:
    """Stored JSON text as data; text that is not JSON (or holds a number that is not exact, as a
    row edited by hand may) stays text, so that it still hashes, and differs."""
    try:
        return json.loads(text, parse_float=_no_constant, parse_constant=_no_constant)
    except (TypeError, ValueError):
        return text


#: Rows hashed per call of the encoder.
_CHUNK = 2000


class _Rows:
    """The rows of one kind of one batch, counted and hashed as they come: the SHA-256 of the
    canonical JSON array of the rows, in the order of a key the database sorts them by; rows with
    the same key are put in the order of their canonical JSON (so the order of ties, which a
    database does not fix, never matters). The array is encoded a chunk of rows at a time."""

    def __init__(self) -> None:
        self.count = 0
        self.hash = hashlib.sha256(b"[")
        self.first = True
        self.key: Any = None
        self.group: list[Sequence[Any]] = []
        self.pending: list[Sequence[Any]] = []

    def add(self, row: Sequence[Any], key: Any) -> None:
        self.count += 1
        if key != self.key:
            self._end_group()
            self.key = key
        self.group.append(row)

    def _end_group(self) -> None:
        if len(self.group) > 1:
            self.group.sort(key=canonical)
        self.pending += self.group
        self.group = []
        if len(self.pending) >= _CHUNK:
            self._write()

    def _write(self) -> None:
        if self.pending:
            inner = canonical(self.pending)[1:-1]  # the rows, comma-separated, as in the whole array
            self.hash.update((inner if self.first else "," + inner).encode("utf-8"))
            self.first = False
            self.pending = []

    def digest(self) -> dict[str, Any]:
        self._end_group()
        self._write()
        self.hash.update(b"]")
        return {"count": self.count, "sha256": self.hash.hexdigest()}

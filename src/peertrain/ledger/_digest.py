"""A batch's records and held rows hashed for its journal entry with polars over Arrow batches,
for the columnar import (:mod:`peertrain.ledger._ingest`).

Each gives what :class:`peertrain.ledger._journal._Rows` gives for the same rows: the count and
the SHA-256 of the canonical JSON array of the rows. polars writes each row's JSON when its
values need no escaping (every value then is itself between quotes); otherwise
:func:`~peertrain.ledger._journal.canonical` writes it, or (held rows) the caller hashes the rows
the usual way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import polars as pl
import pyarrow as pa

from peertrain.ledger._journal import canonical

__all__ = ["held_digest", "records_digest"]

#: In a flat object (:data:`_FLAT`) ``": "`` and ``, "`` are separators, but for a string whose
#: text starts with ``: `` (its opening quote then reads ``": "`` after ``{`` or a space) or ends
#: with ``, `` (its closing quote then follows ``, `` and is followed by ``: ``, ``, `` or ``}``). A
#: payload with none of these texts has its separators made compact by literal replacement.
_AMBIGUOUS = ['{": ', ' ": ', ', ", ', ', "}']
#: A value the JSON encoder writes other than as itself between quotes.
_ESCAPED = r'[\x00-\x1f"\\]'
#: A JSON string with nothing escaped in it, and one member of a flat object as ``json.dumps``
#: writes it with its default separators.
_STRING = r'"[^"\\\x00-\x1f]*"'
_MEMBER = rf"({_STRING}): (null|{_STRING})"
_FLAT = rf"^\{{{_MEMBER}(, {_MEMBER})*\}}$"


def _quoted(column: str) -> pl.Expr:
    return pl.concat_str(pl.lit('"'), pl.col(column), pl.lit('"')).fill_null("null")


def _frame(part: pa.RecordBatch) -> pl.DataFrame:
    """The batch without its first column (``batch_id``); a column of nulls only (which the driver
    types int64, having no value to type it by) as text."""
    frame = pl.from_arrow(part)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.drop(frame.columns[0])
    return frame.with_columns(
        pl.col(c).cast(pl.String) for c in frame.columns if frame.get_column(c).null_count() == frame.height
    )


def _plain(frame: pl.DataFrame, columns: list[str]) -> bool:
    """Whether these columns are text that the encoder writes as itself between quotes."""
    return all(frame.schema[c] == pl.String for c in columns) and not frame.select(
        pl.any_horizontal(pl.col(columns).str.contains(_ESCAPED).fill_null(False)).any()
    ).item()


def records_digest(batches: Iterable[pa.RecordBatch]) -> dict[str, Any]:
    """The records part of one batch, read as Arrow batches of the journal's records query
    (``batch_id`` first, ordered by id, which is unique: no ties to order)."""
    digest, count, first = hashlib.sha256(b"["), 0, True
    for part in batches:
        frame = _frame(part)
        if not frame.height:
            continue
        count += frame.height
        if _plain(frame, frame.columns):
            cells = [_quoted(c) for c in frame.columns]
            row = pl.concat_str(pl.lit("["), pl.concat_str(cells, separator=","), pl.lit("]"))
            text = frame.select(row.str.join(",")).item()
        else:
            text = canonical([list(r) for r in frame.iter_rows()])[1:-1]
        digest.update((text if first else "," + text).encode("utf-8"))
        first = False
    digest.update(b"]")
    return {"count": count, "sha256": digest.hexdigest()}


def held_digest(batches: Iterable[pa.RecordBatch]) -> dict[str, Any] | None:
    """The held part of one batch, read as Arrow batches of the journal's held query (``batch_id,
    source, origin, reason, fingerprint, payload`` ordered by fingerprint), or ``None`` when a row
    is not plain: a value to escape, a payload that is not a flat object of text and nulls as
    ``json.dumps(..., sort_keys=True)`` writes it, or fingerprints not strictly increasing (ties).

    The canonical form of such a payload is its text with the separators ``": "`` and ``", "``
    made ``":"`` and ``","``: nothing in it is escaped, so every quote bounds a string.
    """
    digest, count, first, last = hashlib.sha256(b"["), 0, True, None
    for part in batches:
        frame = _frame(part)
        if not frame.height:
            continue
        source, origin, reason, fingerprint, payload = frame.columns
        texts = [source, origin, reason, fingerprint]
        if not _plain(frame, texts) or frame.schema[payload] != pl.String:
            return None
        fine = frame.select(
            pl.col(payload).str.contains(_FLAT).all().alias("flat"),
            (pl.col(fingerprint) > pl.col(fingerprint).shift(1)).all().alias("rising"),  # the first: null
            pl.col(fingerprint).first().alias("first"),
            pl.col(fingerprint).last().alias("last"),
        ).row(0)
        if not all(fine[:2]) or (last is not None and not fine[2] > last) or frame.null_count().sum_horizontal()[0]:
            return None
        # Each distinct list of keys (one per profile, as a rule) in order and once each, as
        # canonical() sorts them. A key holds no line break (nothing in it is escaped).
        for keys in frame.select(pl.col(payload).str.extract_all(_STRING + ": ").list.join("\n").unique()).to_series():
            names = [key[1:-3] for key in keys.split("\n")]
            if names != sorted(set(names)):
                return None
        last = fine[3]
        count += frame.height
        if frame.select(pl.col(payload).str.contains_any(_AMBIGUOUS).any()).item():
            compact = pl.col(payload).str.replace_all(_MEMBER + "(, )?", "${1}:${2},").str.replace(r",\}$", "}")
        else:  # the same, a seventh of the time (a regular expression with groups is slow)
            compact = pl.col(payload).str.replace_all('": ', '":', literal=True).str.replace_all(
                ', "', ',"', literal=True
            )
        row = pl.concat_str(
            pl.lit("["), pl.concat_str([_quoted(c) for c in texts], separator=","), pl.lit(","), compact, pl.lit("]")
        )
        text = frame.select(row.str.join(",")).item()
        digest.update((text if first else "," + text).encode("utf-8"))
        first = False
    digest.update(b"]")
    return {"count": count, "sha256": digest.hexdigest()}

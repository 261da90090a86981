"""A batch's journal parts hashed by polars on PostgreSQL, for :func:`peertrain.ledger._pgschema.journal`.

The journal's own path reads a batch's rows through a server-side cursor and encodes each row in
Python (about 10 µs a record). Here the records (or held rows) of the batch are copied out with
``COPY (...) TO STDOUT (FORMAT csv)`` into a private temporary file, read back by Arrow a block at
a time and hashed by :mod:`peertrain.ledger._digest`, which gives the same count and SHA-256 as
the journal's path (and declines, for the journal to hash them itself, held rows that are not plain).

In PostgreSQL's CSV a NULL is an unquoted empty field and an empty text a quoted one; Arrow is told
so, and that a quoted value may hold a line break.
"""

from __future__ import annotations

import tempfile
from typing import Any

__all__ = ["copy_digest", "csv_reading"]

_COLUMNS = {
    "records": (
        "batch_id", "id", "member_id", "course_id", "on_date", "status", "hours", "delivery", "provider", "source",
        "record_id", "origin",
    ),
    "held": ("batch_id", "source", "origin", "reason", "fingerprint", "payload"),
}
#: Bytes Arrow reads at a time (memory holds about one block's rows).
_BLOCK = 1 << 20
#: A part with fewer rows is left to the journal's own path: loading Arrow and polars (about half a
#: second and 100 MB) would cost a small batch (a submission, a pull) more than it saves.
LEAST_ROWS = 20_000


def csv_reading(column_types: dict[str, Any]) -> dict[str, Any]:
    """Arrow's CSV options (``parse_options``, ``convert_options``) for what PostgreSQL's ``COPY ...
    TO STDOUT (FORMAT csv)`` writes: a NULL unquoted and empty, an empty text quoted, a line break
    inside a quoted value."""
    import pyarrow.csv as pa_csv  # noqa: PLC0415 - the compiled libraries load only when used

    return {
        "parse_options": pa_csv.ParseOptions(newlines_in_values=True),
        "convert_options": pa_csv.ConvertOptions(
            column_types=column_types, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False,
        ),
    }


def copy_digest(db: Any, part: str, sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
    """The ``part`` (``records`` or ``held``) of a journal entry, from the journal's query ``sql``
    for it (one ``?``: the batch id, an integer), run on the psycopg connection ``db``; ``None``
    (the journal hashes the rows itself) for a part of fewer than :data:`LEAST_ROWS` rows."""
    columns = _COLUMNS.get(part)
    pieces = sql.split("?")
    if columns is None or len(params) != 1 or len(pieces) != 2 or type(params[0]) is not int:
        return None  # not a query this knows how to copy: the journal reads it itself
    rows = db.execute(f"SELECT count(*) FROM {part} WHERE batch_id = %s", params).fetchone()
    if rows is None or rows[0] < LEAST_ROWS:
        return None
    import pyarrow as pa  # noqa: PLC0415 - the compiled libraries load only when used
    import pyarrow.csv as pa_csv  # noqa: PLC0415

    from peertrain.ledger._digest import held_digest, records_digest  # noqa: PLC0415

    query = pieces[0] + str(params[0]) + pieces[1]
    with tempfile.TemporaryFile() as spool:  # created 0600 and unlinked: personal data
        with db.cursor() as cursor, cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv)") as copy:
            for data in copy:
                spool.write(data)
        if not spool.tell():
            return records_digest([]) if part == "records" else held_digest([])
        spool.seek(0)
        reader = pa_csv.open_csv(
            spool,
            read_options=pa_csv.ReadOptions(column_names=list(columns), block_size=_BLOCK, use_threads=False),
            **csv_reading({c: pa.int64() if c == "batch_id" else pa.string() for c in columns}),
        )
        return records_digest(reader) if part == "records" else held_digest(reader)

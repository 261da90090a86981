"""The CSV import's columnar path: lines read in Arrow batches by polars, classified with column
expressions, stored by the ledger through ADBC.

Internal to :mod:`peertrain.imports.importer`. Taken only for a file whose CSV is plain enough that
splitting each line at the separator is exactly what the ``csv`` module reads (:func:`layout`):
UTF-8, no quote character, no NUL, no blank line, no lone carriage return, the header on line 1.
Every other file takes the fast path. Each distinct value (a person, a course with its status,
hours, delivery and provider, a date part, a time part) is interpreted once by the fast path's
cache-miss methods, which ask the general classifier; the rows are then joined to those answers.
A row any answer marks as undecided (a reject, a value read whole, a short or blank-looking row)
goes to the general classifier itself, so rejects are worded as on the general path.
"""

from __future__ import annotations

import codecs
import hashlib
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from peertrain._files import shown
from peertrain.imports._classify import _PERSON_FIELDS, _REST_FIELDS
from peertrain.imports._fastcsv import _SLOW, _FastCSV
from peertrain.imports.exports import ReadInfo
from peertrain.imports.exports._csvfile import MAX_LINE_CHARS, iter_csv_cells, raw_row
from peertrain.ledger import Record, RejectedRow
from peertrain.ledger.sqlite import ColumnarChunk, held_row, record_row

#: Lines classified per batch (read in blocks of _BLOCK bytes).
BATCH_ROWS = 15_000
_BLOCK = 2 << 20
_CHUNK = 1 << 18  # a line inside one chunk is shorter than MAX_LINE_CHARS
#: Distinct keys whose answers are kept between batches (beyond, only the batch's own).
_KNOWN_LIMIT = 100_000
#: The text columns each join adds (beside ``<prefix>_slow``).
_ANSWERS = {
    "p": ("p_member", "p_agency", "p_email", "p_name", "p_portal", "p_reason"),
    "r": (
        "r_course", "r_status", "r_hours", "r_delivery", "r_provider", "r_reason", "r_j_course_id", "r_j_title",
        "r_j_delivery", "r_j_hours", "r_j_provider", "r_j_status",
    ),
}
#: A cell that is its own clean text and its own JSON string body (printable ASCII, no quote or
#: backslash, single inner spaces).
_PLAIN = r"^[!#-\[\]-~]+( [!#-\[\]-~]+)*$"


def layout(path: Path, profile: Any) -> tuple[str, tuple[tuple[str, int], ...], int] | None:
    """``(separator, field columns, lines)`` when the columnar path reads ``path`` exactly as the
    ``csv`` module does, else ``None``. Errors in the header are raised as on the other paths."""
    info = ReadInfo()
    rows = iter_csv_cells(path, profile, info)
    try:
        next(rows, None)
    finally:
        if isinstance(rows, Generator):
            rows.close()
    delimiter = info.delimiter
    if info.encoding != "utf-8-sig" or info.header_row != 1 or delimiter not in (",", ";", "\t"):
        return None
    assert delimiter is not None
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = run = longest = 0
    last = b""
    header = b""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                if not header:
                    header = chunk.split(b"\n", 1)[0]
                decoder.decode(chunk)
                joined = last[-3:] + chunk
                if (
                    any(bad in chunk for bad in (b'"', b"\x00", b"\x1f"))
                    or b"\n\n" in joined or b"\n\r\n" in joined
                    or joined.count(b"\r") != joined.count(b"\r\n") + joined[-1:].count(b"\r")
                ):
                    return None
                lines += chunk.count(b"\n")
                first = chunk.find(b"\n")
                if first < 0:
                    run += len(chunk)
                else:
                    longest, run = max(longest, run + first), len(chunk) - chunk.rfind(b"\n") - 1
                last = chunk
            decoder.decode(b"", final=True)
    except (OSError, UnicodeDecodeError):
        return None  # the other paths report it, naming the line
    if last.endswith(b"\r") or max(longest, run) + _CHUNK >= MAX_LINE_CHARS:
        return None
    text = header.decode("utf-8").removeprefix("\ufeff").removesuffix("\r")
    if text != delimiter.join(info.header):
        return None  # e.g. a sep= line first
    if last and not last.endswith(b"\n"):
        lines += 1
    return delimiter, info.columns, lines


def _attach(df: pl.DataFrame, frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """``df`` with the columns of ``frame`` (unique ``keys``) for each row's keys (null if none): the
    join is of the key columns alone, so ``df``'s other columns are not copied."""
    answers = df.select(keys).join(frame, on=keys, how="left", maintain_order="left").drop(keys)
    return df.hstack(answers)


class _Columnar:
    """The rows of one file as :class:`ColumnarChunk` s (see the module docs)."""

    def __init__(
        self, fast: _FastCSV, found: tuple[str, tuple[tuple[str, int], ...], int],
        progress: Callable[[int], None] | None,
    ) -> None:
        self.fast, self.progress = fast, progress
        self.delimiter, self.columns, self.lines = found
        self.classify = fast.classify
        self.name = shown(fast.path.name)
        self.where = dict(self.columns)
        self.width = max(self.where.values(), default=-1) + 1
        self.people: dict[Any, Any] = {}
        #: Each join's answers so far (keys and answer columns), asked once per distinct key.
        self.known: dict[str, pl.DataFrame] = {}
        self.dated: dict[Any, Any] = {}
        self.undated: dict[Any, Any] = {}

    def chunks(self) -> Iterator[ColumnarChunk]:
        """The file's rows, classified, a batch at a time."""
        expected, count, reported = 1, 0, 0  # the line number of the next line; rows; progress
        for part in self._batches():
            lines = pl.DataFrame({"line": part}).with_row_index("number", offset=expected).with_columns(
                pl.col("number").cast(pl.Int64)
            )
            expected += lines.height
            if lines.get_column("number")[0] == 1:
                lines = lines.slice(1)  # the header
            chunk = self._chunk(lines)
            count += chunk.rows
            while self.progress is not None and reported + 10_000 <= count:  # as the fast path reports
                reported += 10_000
                self.progress(reported)
            yield chunk
        if expected - 1 != self.lines:
            raise RuntimeError(f"{self.name}: the columnar reader read {expected - 1} lines of {self.lines}")
        if self.progress is not None:
            self.progress(count)

    def _batches(self) -> Iterator[pl.Series]:
        """The file's lines (without their newline) in runs of :data:`BATCH_ROWS`.

        Read in blocks of :data:`_BLOCK` bytes cut after their last newline and split by polars.
        (pyarrow's streaming CSV reader read ahead on its own threads and kept about 60 MB.)
        """
        waiting = pl.Series("line", [], pl.String)
        rest = b""
        with self.fast.path.open("rb") as handle:
            while True:
                block = handle.read(_BLOCK)
                if block:
                    block = rest + block
                    cut = block.rfind(b"\n")
                    if cut < 0:
                        rest = block
                        continue
                    block, rest = block[:cut], block[cut + 1:]
                else:
                    block, rest = rest, b""
                    if not block:
                        break
                text = pl.Series("line", [block.decode("utf-8")], pl.String).str.split("\n").explode()
                waiting = text if waiting.is_empty() else pl.concat([waiting, text])
                del text
                while waiting.len() >= BATCH_ROWS:
                    yield waiting.slice(0, BATCH_ROWS)
                    waiting = waiting.slice(BATCH_ROWS)
        if not waiting.is_empty():
            yield waiting

    def _field(self, field: str) -> pl.Expr:
        index = self.where.get(field)
        if index is None:
            return pl.lit("")
        return pl.col("cells").list.get(index, null_on_oob=True).fill_null("")

    def _chunk(self, batch: pl.DataFrame) -> ColumnarChunk:
        fields = (*_PERSON_FIELDS, *_REST_FIELDS, "completed_on", "enrolled_on", "record_id")
        df = batch.with_columns(pl.col("line").str.strip_suffix("\r")).with_columns(
            pl.col("line").str.split(self.delimiter).alias("cells")
        ).with_columns(
            (~pl.col("line").str.contains("[0-9A-Za-z]") | (pl.col("cells").list.len() < self.width)).alias("slow"),
            *(self._field(f).alias(f"f_{f}") for f in dict.fromkeys(fields)),
        ).drop("cells")
        df = self._dates(df)
        df = self._join(df, [f"f_{f}" for f in _PERSON_FIELDS], self._person, "p")
        df = df.with_columns(pl.col("done").is_not_null().alias("has_date"))
        df = self._join(df, [*(f"f_{f}" for f in _REST_FIELDS), "has_date"], self._rest, "r")
        df = self._enrolled(df)
        df = df.with_columns(
            pl.when(pl.col("f_record_id") == "").then(None).otherwise(pl.col("f_record_id")).alias("record_id"),
            pl.concat_str(pl.lit(self.name + ":"), pl.col("number").cast(pl.String)).alias("origin"),
        ).with_columns(
            (
                pl.col("slow") | pl.col("done_slow") | pl.col("p_slow") | pl.col("r_slow") | pl.col("on_slow")
                | (pl.col("record_id").is_not_null() & ~pl.col("record_id").str.contains(_PLAIN))
            ).alias("slow")
        )
        slow = df.filter(pl.col("slow")).select("number", "line")
        # Filtered lazily, so that only the columns each output needs are copied.
        matched = pl.col("p_member").is_not_null() & pl.col("r_course").is_not_null()
        records = df.lazy().filter(~pl.col("slow") & matched).select(
            pl.when(pl.col("r_status") == "completed")
            .then(pl.concat_str("p_member", "r_course", "on", separator="/"))
            .otherwise(pl.concat_str(
                "p_member", "r_course", pl.col("on").fill_null("undated"), "r_status", separator="/"
            )).alias("id"),
            pl.col("p_member").alias("member_id"), pl.col("r_course").alias("course_id"), pl.col("on").alias("on_date"),
            pl.col("r_status").alias("status"), pl.col("r_hours").alias("hours"),
            pl.col("r_delivery").alias("delivery"), pl.col("r_provider").alias("provider"), "record_id", "origin",
            pl.col("number").alias("seq"),
        ).collect()
        held = self._held(df.lazy().filter(~pl.col("slow") & ~matched))
        chunk = ColumnarChunk(rows=df.height - slow.height)
        del df
        extra_records, extra_held = self._slow_rows(slow, chunk)
        if extra_records:
            records = pl.concat([records, pl.DataFrame(extra_records, schema=records.schema, orient="row")])
        if extra_held:
            held = pl.concat([held, pl.DataFrame(extra_held, schema=held.schema, orient="row")])
        chunk.records, chunk.held = records.to_arrow(), held.to_arrow()
        return chunk

    def _dates(self, df: pl.DataFrame) -> pl.DataFrame:
        """``done`` (the completion date as ISO text, or null) and ``done_slow``."""
        fast = self.fast
        df = df.with_columns(
            pl.col("f_completed_on").str.contains(" ", literal=True).alias("spaced"),
            pl.col("f_completed_on").str.splitn(" ", 2).struct.rename_fields(["head", "tail"]).alias("parts"),
        ).unnest("parts")
        spaced = df.filter(pl.col("spaced"))
        heads = spaced.get_column("head").unique().to_list()
        parts = [fast.parts[h] if h in fast.parts else fast._part(h) for h in heads]
        part_frame = pl.DataFrame(
            {
                "head": heads,
                "d_plain": [p and p[0] for p in parts], "d_before": [p and p[1] for p in parts],
                "d_after": [p and p[2] for p in parts], "d_cutoff": [p and p[3] for p in parts],
            },
            schema={"head": pl.String, "d_plain": pl.String, "d_before": pl.String, "d_after": pl.String,
                    "d_cutoff": pl.Int64},
        )
        tails = spaced.get_column("tail").unique().to_list()
        times = fast.dates.time_parts
        seconds = [times[t] if t in times else fast.dates.time_part(t) for t in tails]
        time_frame = pl.DataFrame(
            {"tail": tails, "d_seconds": seconds}, schema={"tail": pl.String, "d_seconds": pl.Int64}
        )
        texts = df.filter(~pl.col("spaced")).get_column("f_completed_on").unique().to_list()
        days = [fast.days[t] if t in fast.days else fast._day(t) for t in texts]
        day_frame = pl.DataFrame(
            {"f_completed_on": texts, "d_day": [None if d is _SLOW else d for d in days],
             "d_day_slow": [d is _SLOW for d in days]},
            schema={"f_completed_on": pl.String, "d_day": pl.String, "d_day_slow": pl.Boolean},
        )
        df = _attach(_attach(_attach(df, part_frame, ["head"]), time_frame, ["tail"]), day_frame, ["f_completed_on"])
        split = pl.col("d_plain").is_not_null() & pl.col("d_seconds").is_not_null()
        return df.with_columns(
            pl.when(~pl.col("spaced")).then(pl.col("d_day"))
            .when(pl.col("d_seconds") == 0).then(pl.col("d_plain"))
            .when(pl.col("d_seconds") < pl.col("d_cutoff")).then(pl.col("d_before"))
            .otherwise(pl.col("d_after")).alias("done"),
            pl.when(pl.col("spaced")).then(~split).otherwise(pl.col("d_day_slow").fill_null(True)).alias("done_slow"),
        ).with_columns(pl.when(pl.col("done_slow")).then(None).otherwise(pl.col("done")).alias("done"))

    def _join(
        self, df: pl.DataFrame, keys: list[str], answer: Callable[[tuple[Any, ...]], dict[str, Any]], prefix: str
    ) -> pl.DataFrame:
        """Join each row to ``answer`` of its distinct ``keys`` (asked once per distinct key)."""
        distinct = df.filter(~pl.col("slow") & ~pl.col("done_slow")).select(keys).unique()
        known = self.known.get(prefix)
        if known is not None:
            distinct = distinct.join(known.select(keys), on=keys, how="anti")
        answers = [answer(key) for key in distinct.iter_rows()]
        names = _ANSWERS[prefix]
        frame = distinct.with_columns(
            pl.Series(f"{prefix}_slow", [a[f"{prefix}_slow"] for a in answers], pl.Boolean),
            *(pl.Series(n, [a.get(n) for a in answers], pl.String) for n in names),
        )
        if known is not None and known.height + frame.height <= _KNOWN_LIMIT:
            frame = pl.concat([known, frame])
        elif known is not None:
            frame = pl.concat([known.join(df.select(keys).unique(), on=keys, how="semi"), frame])
        self.known[prefix] = frame
        return _attach(df, frame, keys).with_columns(pl.col(f"{prefix}_slow").fill_null(True))

    def _person(self, key: tuple[Any, ...]) -> dict[str, Any]:
        found = self.people[key] if key in self.people else self.fast._person(key, self.people)
        if found is _SLOW:
            return {"p_slow": True}
        member, values, (agency, email, name, portal) = found
        who = values.get("email") or values.get("portal_user_id") or values.get("name")
        return {
            "p_slow": False, "p_member": member, "p_agency": agency, "p_email": email, "p_name": name,
            "p_portal": portal, "p_reason": f"unknown person {who!r}",
        }

    def _rest(self, key: tuple[Any, ...]) -> dict[str, Any]:
        *raw, has_date = key
        cache = self.dated if has_date else self.undated
        found = cache[tuple(raw)] if tuple(raw) in cache else self.fast._rest(tuple(raw), has_date, cache)
        if found is _SLOW:
            return {"r_slow": True}
        course, values, status, hours, delivery, provider, parts = found
        what = values.get("course_title") or values.get("course_id")
        return {
            "r_slow": False, "r_course": course, "r_status": status, "r_hours": hours, "r_delivery": delivery,
            "r_provider": provider, "r_reason": f"unknown course {what!r}",
            **dict(zip(("r_j_course_id", "r_j_title", "r_j_delivery", "r_j_hours", "r_j_provider", "r_j_status"),
                       parts, strict=True)),
        }

    def _enrolled(self, df: pl.DataFrame) -> pl.DataFrame:
        """``on`` (the record's date) and ``on_slow``, as the fast path decides them."""
        fast = self.fast
        decided = ~pl.col("slow") & ~pl.col("done_slow") & ~pl.col("r_slow")
        others = df.filter(decided & (pl.col("r_status") != "completed"))
        texts = others.get_column("f_enrolled_on").unique().to_list()
        days = [fast.days[t] if t in fast.days else fast._day(t) for t in texts]
        frame = pl.DataFrame(
            {"f_enrolled_on": texts, "e_day": [None if d is _SLOW else d for d in days],
             "e_slow": [d is _SLOW for d in days]},
            schema={"f_enrolled_on": pl.String, "e_day": pl.String, "e_slow": pl.Boolean},
        )
        df = _attach(df, frame, ["f_enrolled_on"])
        completed = pl.col("r_status") == "completed"
        return df.with_columns(
            pl.when(completed).then(pl.col("done")).otherwise(pl.coalesce("e_day", "done")).alias("on"),
            pl.when(completed).then(pl.col("done").is_null()).otherwise(pl.col("e_slow").fill_null(True)).alias("on_slow"),
        )

    def _held(self, df: pl.LazyFrame) -> pl.DataFrame:
        """The held rows: origin, reason, fingerprint and payload as :meth:`_Classifier.held_tuple` makes them."""
        def quoted(column: str) -> pl.Expr:
            return pl.when(pl.col(column).is_null()).then(pl.lit("null")).otherwise(
                pl.concat_str(pl.lit('"'), pl.col(column), pl.lit('"'))
            )

        head = pl.concat_str(
            pl.lit('{"agency": '), "p_agency", pl.lit(', "course_id": '), "r_j_course_id", pl.lit(', "course_title": '),
            "r_j_title", pl.lit(', "delivery": '), "r_j_delivery", pl.lit(', "email": '), "p_email",
            pl.lit(', "hours": '), "r_j_hours",
        )
        tail = pl.concat_str(
            pl.lit(', "name": '), "p_name", pl.lit(', "on": '), quoted("on"), pl.lit(', "portal_user_id": '),
            "p_portal", pl.lit(', "provider": '), "r_j_provider", pl.lit(', "record_id": '), quoted("record_id"),
            pl.lit(', "status": '), "r_j_status", pl.lit("}"),
        )
        reason = pl.concat_str(
            pl.when(pl.col("p_member").is_null()).then(pl.col("p_reason")),
            pl.when(pl.col("r_course").is_null()).then(pl.col("r_reason")),
            separator="; ", ignore_nulls=True,
        )
        held = df.select(
            pl.col("number").alias("seq"), "origin", reason.alias("reason"), head.alias("h"), tail.alias("t")
        ).collect()
        texts = held.select(pl.concat_str("h", "t")).to_series().to_list()
        fingerprints = [hashlib.sha256(text.encode()).hexdigest() for text in texts]
        orders = self.classify._held_orders
        return held.select(
            "seq", "origin", "reason", pl.Series("fingerprint", fingerprints, pl.String),
            pl.concat_str("h", pl.lit(orders), "t").alias("payload"),
        )

    def _slow_rows(self, slow: pl.DataFrame, chunk: ColumnarChunk) -> tuple[list[Any], list[Any]]:
        """The general classifier's answer for each undecided row (blank rows skipped, as read)."""
        records, held = [], []
        source = self.fast.profile.source
        for number, line in slow.sort("number").iter_rows():
            cells = line.split(self.delimiter)
            joined = "".join(cells)
            if not joined or joined.isspace():
                continue
            chunk.rows += 1
            row = self.classify(raw_row(self.name, number, cells, self.columns))
            if isinstance(row, Record):
                records.append((*record_row(row), number))
            elif isinstance(row, RejectedRow):
                chunk.rejected.append(row)
            else:
                held.append((number, *held_row(row, source)[1:]))
        return records, held


__all__ = ["BATCH_ROWS", "_Columnar", "layout"]

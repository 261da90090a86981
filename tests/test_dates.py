"""The fast date parser behind profile date formats agrees with ``datetime.strptime``."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from peertrain.imports.exports.values import _fast_format, _fast_parse

FORMATS = [
    "%m/%d/%Y", "%m/%d/%Y %I:%M %p", "%d/%m/%Y", "%A, %d %B %Y, %I:%M %p", "%Y-%m-%d %H:%M:%S",
    "%d %b %Y", "%m/%d/%y", "%Y%m%d", "%d.%m.%Y %H:%M", "%B %d, %Y", "%Y-%m-%dT%H:%M:%S.%f",
]


def _strptime(text: str, fmt: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text, fmt)
    except ValueError:
        return None


@given(
    st.datetimes(min_value=dt.datetime(1950, 1, 1), max_value=dt.datetime(2060, 12, 31)),
    st.sampled_from(FORMATS),
    st.sampled_from(FORMATS),
    st.sampled_from(["none", "upper", "lower", "strip-zero", "chop", "pad"]),
)
def test_fast_parser_matches_strptime(moment, written_with, read_with, mangle):
    """For text written in one format (sometimes mangled) and read with another, the fast parser
    gives exactly what strptime gives: the same date-time, or no match."""
    text = moment.strftime(written_with)
    text = {
        "none": text, "upper": text.upper(), "lower": text.lower(), "strip-zero": text.replace("0", "", 1),
        "chop": text[:-1], "pad": f" {text}",
    }[mangle]
    pattern = _fast_format(read_with)
    assert pattern is not None
    assert _fast_parse(pattern, text) == _strptime(text, read_with)


def test_impossible_dates_do_not_match():
    """30 February and month 13 are not dates, as with strptime."""
    pattern = _fast_format("%m/%d/%Y")
    assert pattern is not None
    assert _fast_parse(pattern, "02/30/2024") is None
    assert _fast_parse(pattern, "13/01/2024") is None
    assert _fast_parse(pattern, "2/29/2024") == dt.datetime(2024, 2, 29)


def test_twelve_oclock_am_and_pm():
    """12:xx AM is just after midnight, 12:xx PM just after noon."""
    pattern = _fast_format("%m/%d/%Y %I:%M %p")
    assert pattern is not None
    assert _fast_parse(pattern, "12/31/1999 12:05 AM") == dt.datetime(1999, 12, 31, 0, 5)
    assert _fast_parse(pattern, "12/31/1999 12:05 PM") == dt.datetime(1999, 12, 31, 12, 5)


def test_unknown_directives_fall_back_to_strptime():
    """A format using a directive the fast path does not know (%j, %z) is left to strptime."""
    assert _fast_format("%Y-%j") is None
    assert _fast_format("%Y-%m-%d %z") is None

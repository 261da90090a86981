"""CSV cells a spreadsheet will not run as formulas (OWASP "CSV injection"), for every CSV
peertrain writes: the check's CSV, the report's CSV and the ledger's rejected-rows export.
"""

from __future__ import annotations

import re

__all__ = ["safe_cell"]

#: Leading characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: A plain decimal number, as a spreadsheet reads one (not ``-nan``, ``+inf`` or ``-1_000``).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def safe_cell(value: object) -> str:
    """A value as CSV cell text a spreadsheet will not run as a formula.

    Text starting with ``= + - @``, a tab or a carriage return gets a leading ``'``; numbers are
    left alone (``-1.5`` stays a number).
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_START) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text

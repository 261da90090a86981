"""Connecting to a PostgreSQL ledger, for :mod:`peertrain.ledger.postgres`: its URL, the password
reference in it, the driver (psycopg 3) and the errors of a missing driver or a refusing server.

A ledger URL is a libpq URL, ``postgresql://[USER@]HOST[:PORT]/DATABASE[?PARAM=VALUE&...]``, with
every libpq parameter (``sslmode``, ``service``, ``passfile``, ...). A password is never written
in it: ``password=env:NAME`` reads it from the environment variable ``NAME``, ``password=file:PATH``
from the first line of a file; with neither, libpq looks where it always does (``PGPASSWORD``,
``PGPASSFILE`` or ``~/.pgpass``, a service file). A literal password in a URL is refused, because
a URL is typed on command lines, which other users of the machine can read.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from peertrain.ledger import LedgerError

if TYPE_CHECKING:
    import psycopg

__all__ = ["connect", "parameters", "shown_url"]

_REFERENCE = re.compile(r"^(env|file):(.+)$", re.DOTALL)


def shown_url(url: str) -> str:
    """``url`` as it may be printed: a password that is not a reference replaced by ``***``."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None and not _REFERENCE.match(urllib.parse.unquote(parts.password)):
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:***@{host}"
    query = "&".join(
        f"{key}=***" if key == "password" and not _REFERENCE.match(urllib.parse.unquote(value)) else f"{key}={value}"
        for key, _, value in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _password(reference: str, shown: str) -> str:
    """The password a reference (``env:NAME`` or ``file:PATH``) names."""
    match = _REFERENCE.match(reference)
    if match is None:
        raise LedgerError(
            f"{shown}: a password may not be written in a ledger URL (command lines are visible to other "
            "users); give password=env:NAME or password=file:PATH, or use PGPASSFILE, ~/.pgpass or a service file"
        )
    kind, name = match.groups()
    if kind == "env":
        value = os.environ.get(name)
        if value is None:
            raise LedgerError(f"{shown}: the password's environment variable {name} is not set")
        return value
    try:
        lines = Path(name).expanduser().read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise LedgerError(f"{shown}: cannot read the password file {name}: {exc.strerror or exc}") from None
    if not lines or not lines[0]:
        raise LedgerError(f"{shown}: the password file {name} is empty")
    return lines[0]


def parameters(url: str) -> tuple[dict[str, Any], str]:
    """libpq's connection parameters of ``url`` (a referenced password resolved) and the URL as shown."""
    shown = shown_url(url)
    try:
        from psycopg.conninfo import conninfo_to_dict  # noqa: PLC0415 - an optional dependency

        params: dict[str, Any] = conninfo_to_dict(url)
    except ImportError:
        raise LedgerError(
            f"{shown}: a PostgreSQL ledger needs psycopg 3; install it with: pip install 'peertrain[postgresql]'"
        ) from None
    except Exception as exc:  # psycopg.ProgrammingError: libpq cannot parse it
        raise LedgerError(f"{shown}: not a PostgreSQL URL ({_first_line(exc)})") from None
    userinfo = urllib.parse.urlsplit(url).password
    if userinfo is not None:
        _password(urllib.parse.unquote(userinfo), shown)  # refuses a literal password
        if "password=" not in urllib.parse.urlsplit(url).query:
            params["password"] = urllib.parse.unquote(userinfo)
    if "password" in params:
        params["password"] = _password(str(params["password"]), shown)
    params.setdefault("connect_timeout", 10)
    params.setdefault("application_name", "peertrain")
    return params, shown


def connect(url: str) -> tuple[psycopg.Connection[Any], str]:
    """An autocommit connection to the ledger database at ``url``, and the URL as it may be shown.

    A server that cannot be reached or refuses the login is a :class:`LedgerError` naming the URL
    (its password hidden) and libpq's reason.
    """
    params, shown = parameters(url)
    import psycopg  # noqa: PLC0415 - importable: parameters() checked

    try:
        connection = psycopg.connect(autocommit=True, **params)
    except psycopg.Error as exc:
        raise LedgerError(f"{shown}: cannot connect to the ledger's database: {_first_line(exc)}") from None
    return connection, shown


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # libpq prefixes every attempt with 'connection to server at ... failed:'; the reason is last.
    if not lines:
        return type(exc).__name__
    reason = " ".join(" ".join(lines).rpartition(" failed: ")[2].split())
    return reason.removeprefix("FATAL: ")

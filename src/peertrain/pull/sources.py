"""The sources a coordinator pulls from, declared in a TOML file.

```toml
[xapi.county-lrs]
endpoint = "https://lrs.example.org/xAPI/"
username = "peertrain"
password = "env:PEERTRAIN_LRS_PASSWORD"      # or "file:secrets/lrs-password"

[moodle.cops-portal]
url = "https://portal.example.org"
token = "file:/etc/peertrain/moodle-token"
courses = ["GCI-2025", 42]                     # Moodle short names or ids
```

Secrets are *references*, never values: ``env:NAME`` (an environment variable) or ``file:PATH``
(a file, relative to the TOML file; one trailing newline is ignored). A literal secret is refused,
so the config file can be shared and committed without leaking anything. Secrets are read only
when a pull starts, and no repr, message or log line shows them.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from attrs import field, frozen

from peertrain.errors import InputError
from peertrain.loading import read_toml
from peertrain.pull.http import RetryPolicy, safe_url

__all__ = ["MoodleSource", "Secret", "Sources", "XapiSource", "load_sources"]

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
PASSED = "http://adlnet.gov/expapi/verbs/passed"
FAILED = "http://adlnet.gov/expapi/verbs/failed"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


@frozen
class Secret:
    """A reference to a secret (``env:NAME`` or ``file:PATH``); :meth:`value` reads it."""

    reference: str
    base: Path = field(default=Path(), repr=False)
    where: str = field(default="", repr=False)

    def value(self) -> str:
        """The secret itself; an :class:`InputError` naming the reference (never the value) if missing."""
        kind, _, name = self.reference.partition(":")
        if kind == "env":
            text = os.environ.get(name)
            if not text:
                raise InputError(self.where, f"the environment variable {name} is not set (or empty)")
            return text
        path = Path(name).expanduser()
        path = path if path.is_absolute() else self.base / path
        try:
            text = path.read_text(encoding="utf-8").removesuffix("\n").removesuffix("\r")
        except OSError as exc:
            raise InputError(self.where, f"cannot read the secret file {path} ({exc.strerror})") from None
        if not text:
            raise InputError(self.where, f"the secret file {path} is empty")
        return text


@frozen
class XapiSource:
    """An xAPI Learning Record Store."""

    name: str
    endpoint: str
    username: str
    password: Secret
    verbs: tuple[str, ...] = (COMPLETED, PASSED, FAILED)
    hours_extension: str | None = None
    page_size: int = 500
    verify_tls: bool | str = True
    policy: RetryPolicy = field(factory=RetryPolicy)

    @property
    def key(self) -> str:
        """The ledger source (and cursor) name: ``xapi:<name>``."""
        return f"xapi:{self.name}"


@frozen
class MoodleSource:
    """A Moodle site's web services."""

    name: str
    url: str
    token: Secret
    courses: tuple[str | int, ...]
    user_id: str = "id"
    verify_tls: bool | str = True
    policy: RetryPolicy = field(factory=RetryPolicy)

    @property
    def key(self) -> str:
        """The ledger source (and cursor) name: ``moodle:<name>``."""
        return f"moodle:{self.name}"


@frozen
class Sources:
    """Every source of one config file, by kind and name."""

    xapi: Mapping[str, XapiSource]
    moodle: Mapping[str, MoodleSource]


_COMMON = {"verify_tls", "connect_timeout", "read_timeout", "retries", "deadline", "max_response_mb"}
_XAPI_KEYS = {"endpoint", "username", "password", "verbs", "hours_extension", "page_size", *_COMMON}
_MOODLE_KEYS = {"url", "token", "courses", "user_id", *_COMMON}


class _Table:
    def __init__(self, path: Path, key: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise InputError(str(path), "must be a table", field=key)
        self.path, self.key, self.data = path, key, data

    def fail(self, name: str, message: str) -> InputError:
        return InputError(str(self.path), message, field=f"{self.key}.{name}")

    def text(self, name: str, default: str | None = None) -> str:
        value = self.data.get(name, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, "is required text" if name not in self.data else f"must be text, got {value!r}")
        return value.strip()

    def number(self, name: str, default: float) -> float:
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or value <= 0:
            raise self.fail(name, f"must be a number > 0, got {value!r}")
        return float(value)

    def url(self, name: str) -> str:
        value = self.text(name)
        parts = urllib.parse.urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise self.fail(name, f"must be an http:// or https:// URL, got {safe_url(value)!r}")
        if parts.username or parts.password:
            raise self.fail(name, "must not carry a user or password: use the source's credential keys")
        return value

    def secret(self, name: str) -> Secret:
        ref = self.text(name)
        kind, _, rest = ref.partition(":")
        if kind not in ("env", "file") or not rest:
            # Never echo the value: it may be the secret itself.
            raise self.fail(name, "must be a reference 'env:VARIABLE' or 'file:PATH', not the secret itself")
        return Secret(ref, self.path.parent, f"{self.path}: {self.key}.{name}")

    def common(self) -> dict[str, Any]:
        verify = self.data.get("verify_tls", True)
        if not isinstance(verify, bool | str):
            raise self.fail("verify_tls", "must be true, false or the path of a CA bundle")
        if isinstance(verify, str):
            verify = str((self.path.parent / verify).resolve())
        policy = RetryPolicy(
            connect_timeout=self.number("connect_timeout", 10),
            read_timeout=self.number("read_timeout", 60),
            attempts=int(self.number("retries", 4)) + 1,
            deadline=self.number("deadline", 120),
            max_bytes=int(self.number("max_response_mb", 64) * 1024 * 1024),
        )
        return {"verify_tls": verify, "policy": policy}

    def check_keys(self, allowed: set[str]) -> None:
        for name in self.data:
            if name not in allowed:
                raise self.fail(name, f"unknown key; expected one of {', '.join(sorted(allowed))}")


def _xapi(table: _Table, name: str) -> XapiSource:
    table.check_keys(_XAPI_KEYS)
    verbs = table.data.get("verbs", [COMPLETED, PASSED, FAILED])
    if not isinstance(verbs, list) or not verbs or not all(isinstance(v, str) for v in verbs):
        raise table.fail("verbs", "must be a list of verb IRIs")
    hours = table.data.get("hours_extension")
    if hours is not None and not isinstance(hours, str):
        raise table.fail("hours_extension", "must be an extension IRI")
    return XapiSource(
        name=name, endpoint=table.url("endpoint"), username=table.text("username"),
        password=table.secret("password"), verbs=tuple(verbs), hours_extension=hours,
        page_size=int(table.number("page_size", 500)), **table.common(),
    )


def _moodle(table: _Table, name: str) -> MoodleSource:
    table.check_keys(_MOODLE_KEYS)
    courses = table.data.get("courses")
    if not isinstance(courses, list) or not courses or not all(
        isinstance(c, str | int) and not isinstance(c, bool) for c in courses
    ):
        raise table.fail("courses", "must be a list of Moodle course short names (text) or ids (numbers)")
    user_id = table.text("user_id", "id")
    if user_id not in ("id", "idnumber", "username"):
        raise table.fail("user_id", f"must be id, idnumber or username, got {user_id!r}")
    return MoodleSource(
        name=name, url=table.url("url"), token=table.secret("token"), courses=tuple(courses), user_id=user_id,
        **table.common(),
    )


def load_sources(path: Path) -> Sources:
    """Read a sources TOML file (``[xapi.NAME]`` and ``[moodle.NAME]`` tables)."""
    data = read_toml(path)
    for kind in data:
        if kind not in ("xapi", "moodle"):
            raise InputError(str(path), "unknown kind of source; expected xapi or moodle", field=kind)
    found: dict[str, dict[str, Any]] = {"xapi": {}, "moodle": {}}
    for kind, build in (("xapi", _xapi), ("moodle", _moodle)):
        tables = data.get(kind, {})
        if not isinstance(tables, dict):
            raise InputError(str(path), "must be a table of named sources", field=kind)
        for name, raw in tables.items():
            found[kind][name] = build(_Table(path, f"{kind}.{name}", raw), name)
    return Sources(xapi=found["xapi"], moodle=found["moodle"])

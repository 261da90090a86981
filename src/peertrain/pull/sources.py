"""The sources a coordinator pulls from, declared in a TOML file.

```toml
[xapi.county-lrs]
endpoint = "https://lrs.example.org/xAPI/"
username = "peertrain"
password = "env:PEERTRAIN_LRS_PASSWORD"      # or "file:secrets/lrs-password"

[moodle.cops-portal]
url = "https://portal.example.org"
token = "file:secrets/moodle-token"          # in this file's folder, chmod 600
courses = ["GCI-2025", 42]                     # Moodle short names or ids
```

Secrets are *references*, never values: ``env:PEERTRAIN_NAME`` (an environment variable whose name
starts with ``PEERTRAIN_``) or ``file:PATH`` (a file in the TOML file's folder or below it, owned by
you and ``chmod 600``; one trailing newline is ignored); see :mod:`peertrain.pull.secret`. A literal
secret is refused, so the config file can be shared and committed without leaking anything.
Secrets are read only when a pull starts, and no repr, message or log line shows them. Endpoints
with credentials must be ``https://`` unless the host is loopback.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from attrs import field, frozen

from peertrain._types import StrPath
from peertrain.errors import InputError
from peertrain.pull.http import RetryPolicy, safe_url
from peertrain.pull.safety import origin, plain_http_refusal
from peertrain.pull.secret import Secret, reference_problem
from peertrain.rules.loading import read_toml

__all__ = ["MoodleSource", "Secret", "Sources", "XapiSource", "load_sources"]

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
PASSED = "http://adlnet.gov/expapi/verbs/passed"
FAILED = "http://adlnet.gov/expapi/verbs/failed"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


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


def _kind(value: object) -> str:
    """What a TOML value is, in words, without its value."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float | Decimal):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return "empty text" if isinstance(value, str) else "a date or time"


class _Table:
    def __init__(self, path: Path, key: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise InputError(str(path), "must be a table", field=key)
        self.path, self.key, self.data = path, key, data

    def fail(self, name: str, message: str) -> InputError:
        return InputError(str(self.path), message, field=f"{self.key}.{name}")

    def text(self, name: str, default: str | None = None, *, secret: bool = False) -> str:
        value = self.data.get(name, default)
        if not isinstance(value, str) or not value.strip():
            if name not in self.data:
                raise self.fail(name, "is required text")
            # A secret's value is never echoed, only its type: it may be the secret itself.
            shown = _kind(value) if secret else repr(value)
            raise self.fail(name, f"must be text, got {shown}")
        return value.strip()

    def number(self, name: str, default: float) -> float:
        value = self.data.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or value <= 0:
            raise self.fail(name, f"must be a number > 0, got {value!r}")
        return float(value)

    def url(self, name: str) -> str:
        value = self.text(name)
        parts = urllib.parse.urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or origin(value) is None:
            raise self.fail(name, f"must be an http:// or https:// URL, got {safe_url(value)!r}")
        if parts.username or parts.password:
            raise self.fail(name, "must not carry a user or password: use the source's credential keys")
        refusal = plain_http_refusal(value)
        if refusal is not None:
            raise self.fail(name, refusal)
        return value

    def secret(self, name: str) -> Secret:
        ref = self.text(name, secret=True)
        problem = reference_problem(ref)  # never echoes the value: it may be the secret itself
        if problem is not None:
            raise self.fail(name, problem)
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


def load_sources(path: StrPath) -> Sources:
    """Read a sources TOML file (``[xapi.NAME]`` and ``[moodle.NAME]`` tables)."""
    path = Path(path)
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

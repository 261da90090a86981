"""The notify configuration file (``notify.toml``): the mail server, who gets what, and when.

Read with :func:`load_config`; every mistake is an :class:`~peertrain.errors.InputError` naming
the file and the key. Credentials are references (``env:PEERTRAIN_...`` or ``file:PATH`` beside the
file), read only when a message is to be sent (:class:`~peertrain.pull.secret.Secret`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from email.headerregistry import Address
from email.utils import parseaddr
from pathlib import Path
from typing import Any

from attrs import field, frozen

from peertrain._types import StrPath
from peertrain.errors import InputError
from peertrain.pull.secret import Secret, reference_problem
from peertrain.rules.loading import read_toml
from peertrain.rules.privacy import Privacy

__all__ = ["DEFAULT_OFFSETS", "AgencyConfig", "NotifyConfig", "SmtpConfig", "load_config"]

#: Days before a deadline at which its member is reminded.
DEFAULT_OFFSETS: tuple[int, ...] = (90, 30, 7)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SECURITY = ("starttls", "tls", "none")


@frozen
class SmtpConfig:
    """How to reach the mail server.

    ``security``: ``starttls`` (port 587), ``tls`` (implicit TLS, port 465) or ``none`` (only for a
    relay on this machine); certificates are always verified, against the system's authorities or
    ``ca_file``. ``password`` is a :class:`Secret`. ``retries`` and ``backoff`` (seconds, doubled at
    each retry) apply to 4xx replies and lost connections; ``rate`` is the most messages per second.
    """

    host: str
    sender: str
    port: int = 587
    security: str = "starttls"
    username: str | None = None
    password: Secret | None = None
    timeout: float = 30.0
    retries: int = 3
    backoff: float = 5.0
    rate: float = 2.0
    ca_file: Path | None = None
    helo: str | None = None


@frozen
class AgencyConfig:
    """Who is told what in one agency: ``coordinators`` get the digest and (``copy_within``) copies
    of member notices in the last days before a deadline and on a lapse; ``escalation`` (the chief)
    is told once when a requirement lapses."""

    coordinators: tuple[str, ...] = ()
    escalation: tuple[str, ...] = ()
    offsets: tuple[int, ...] = DEFAULT_OFFSETS
    copy_within: int | None = 7


@frozen
class NotifyConfig:
    """Everything ``peertrain notify`` needs besides the ledger (see ``docs/notify.md``)."""

    path: Path
    smtp: SmtpConfig | None
    team_id: str = "team"
    team_name: str = "Peer support team"
    packs: tuple[str, ...] = ()
    exemptions: Path | None = None
    catalogs: tuple[Path, ...] = ()
    templates: Path | None = None
    privacy: Privacy = Privacy.FULL
    digest_day: int = 0
    catch_up_days: int = 14
    defaults: AgencyConfig = field(factory=AgencyConfig)
    agencies: Mapping[str, AgencyConfig] = field(factory=dict)

    def agency(self, name: str) -> AgencyConfig:
        """The settings of one agency (the defaults when it has no table of its own)."""
        return self.agencies.get(name, self.defaults)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, message: str) -> InputError:
        return InputError(str(self.path), f"{key}: {message}")

    def table(self, data: Mapping[str, Any], key: str) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(key, "must be a table")
        return value

    def text(self, data: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str | None:
        value = data.get(key, default)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise self.fail(f"{where}{key}", "must be non-empty text")
        return value

    def number(
        self, data: Mapping[str, Any], key: str, where: str, default: float, *, low: float, high: float
    ) -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal) or not low <= value <= high:
            raise self.fail(f"{where}{key}", f"must be a number from {low:g} to {high:g}, got {value!r}")
        return float(value)

    def days(self, value: Any, key: str) -> tuple[int, ...]:
        if not isinstance(value, list) or any(isinstance(d, bool) or not isinstance(d, int) or d <= 0 for d in value):
            raise self.fail(key, f"must be a list of whole numbers of days > 0, got {value!r}")
        return tuple(sorted(set(value), reverse=True))

    def addresses(self, value: Any, key: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.fail(key, "must be a list of e-mail addresses")
        for item in value:
            if not isinstance(item, str) or "@" not in parseaddr(item)[1] or any(c in item for c in "\r\n"):
                raise self.fail(key, f"{item!r} is not an e-mail address")
        return tuple(value)

    def path_of(self, data: Mapping[str, Any], key: str) -> Path | None:
        text = self.text(data, key, "")
        return None if text is None else (self.path.parent / text)

    def agency(self, data: Mapping[str, Any], where: str, base: AgencyConfig) -> AgencyConfig:
        known = {"coordinators", "escalation", "offsets", "copy_within"}
        for key in data:
            if key not in known:
                raise self.fail(f"{where}{key}", f"unknown key; expected one of {', '.join(sorted(known))}")
        copy = data.get("copy_within", base.copy_within)
        if copy is not None and (isinstance(copy, bool) or not isinstance(copy, int) or copy < 0):
            raise self.fail(f"{where}copy_within", "must be a whole number of days >= 0")
        return AgencyConfig(
            coordinators=self.addresses(data["coordinators"], f"{where}coordinators")
            if "coordinators" in data else base.coordinators,
            escalation=self.addresses(data["escalation"], f"{where}escalation")
            if "escalation" in data else base.escalation,
            offsets=self.days(data["offsets"], f"{where}offsets") if "offsets" in data else base.offsets,
            copy_within=copy,
        )

    def smtp(self, data: dict[str, Any]) -> SmtpConfig | None:
        if not data:
            return None
        host = self.text(data, "host", "smtp.")
        sender = self.text(data, "from", "smtp.")
        if host is None or sender is None:
            raise self.fail("smtp", "needs host and from")
        try:
            Address(addr_spec=parseaddr(sender)[1])
        except (ValueError, IndexError):
            raise self.fail("smtp.from", f"{sender!r} is not an e-mail address") from None
        security = self.text(data, "security", "smtp.", "starttls")
        if security not in _SECURITY:
            raise self.fail("smtp.security", f"must be one of {', '.join(_SECURITY)}, got {security!r}")
        password = self.text(data, "password", "smtp.")
        if password is not None and (problem := reference_problem(password)) is not None:
            raise self.fail("smtp.password", problem)
        username = self.text(data, "username", "smtp.")
        if (username is None) != (password is None):
            raise self.fail("smtp", "username and password go together")
        return SmtpConfig(
            host=host, sender=sender, security=security,
            port=int(self.number(data, "port", "smtp.", 465 if security == "tls" else 587, low=1, high=65535)),
            username=username,
            password=None if password is None else Secret(password, self.path.parent, f"{self.path}: smtp.password"),
            timeout=self.number(data, "timeout", "smtp.", 30, low=1, high=600),
            retries=int(self.number(data, "retries", "smtp.", 3, low=0, high=10)),
            backoff=self.number(data, "backoff", "smtp.", 5, low=0, high=600),
            rate=self.number(data, "rate", "smtp.", 2, low=0.01, high=1000),
            ca_file=self.path_of(data, "ca_file"),
            helo=self.text(data, "helo", "smtp."),
        )


def load_config(path: StrPath) -> NotifyConfig:
    """Read a notify configuration file (see ``docs/notify.md``)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), "no such notify configuration file")
    data = read_toml(path)
    reader = _Reader(path)
    known = {
        "team_id", "team_name", "packs", "exemptions", "catalogs", "templates", "privacy", "digest_day",
        "catch_up_days", "smtp", "defaults", "agencies",
    }
    for key in data:
        if key not in known:
            raise reader.fail(key, f"unknown key; expected one of {', '.join(sorted(known))}")
    packs = data.get("packs", [])
    if not isinstance(packs, list) or not all(isinstance(p, str) and p for p in packs):
        raise reader.fail("packs", "must be a list of rule pack ids or paths")
    catalogs = data.get("catalogs", [])
    if not isinstance(catalogs, list) or not all(isinstance(c, str) and c for c in catalogs):
        raise reader.fail("catalogs", "must be a list of catalogue file paths")
    privacy = reader.text(data, "privacy", "", "full")
    if privacy not in {p.value for p in Privacy}:
        raise reader.fail("privacy", f"must be one of {', '.join(p.value for p in Privacy)}")
    day = reader.text(data, "digest_day", "", "monday")
    if day is None or day.lower() not in _WEEKDAYS:
        raise reader.fail("digest_day", f"must be a day of the week ({', '.join(_WEEKDAYS)})")
    defaults = reader.agency(reader.table(data, "defaults"), "defaults.", AgencyConfig())
    agencies = {
        name: reader.agency(table if isinstance(table, dict) else {"": table}, f"agencies.{name}.", defaults)
        for name, table in reader.table(data, "agencies").items()
    }
    return NotifyConfig(
        path=path,
        smtp=reader.smtp(reader.table(data, "smtp")),
        team_id=reader.text(data, "team_id", "", "team") or "team",
        team_name=reader.text(data, "team_name", "", "Peer support team") or "Peer support team",
        packs=tuple(packs),
        exemptions=reader.path_of(data, "exemptions"),
        catalogs=tuple(path.parent / c for c in catalogs),
        templates=reader.path_of(data, "templates"),
        privacy=Privacy(privacy),
        digest_day=_WEEKDAYS.index(day.lower()),
        catch_up_days=int(reader.number(data, "catch_up_days", "", 14, low=0, high=366)),
        defaults=defaults,
        agencies=agencies,
    )


def last_weekday(day: dt.date, weekday: int) -> dt.date:
    """The latest date on or before ``day`` that falls on ``weekday`` (0 = Monday)."""
    return day - dt.timedelta(days=(day.weekday() - weekday) % 7)

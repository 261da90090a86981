"""What keeps a source's credentials with its server: origins, the plain-HTTP rule, redaction.

- An *origin* is a URL's scheme, host and port (RFC 6454): ``HTTPS://LRS.example:443/a`` and
  ``https://lrs.example/b`` are the same origin; ``http://lrs.example:8080`` is another. A pull
  sends its credentials to the source's own origin only: a ``more`` link or a redirect elsewhere
  is refused before anything is sent there.
- Plain ``http://`` with credentials is allowed only for loopback hosts (``127.0.0.0/8``, ``::1``,
  ``localhost``), where nothing crosses a network.
- :class:`Redactor` replaces every form a secret may take in a server's answer (as is, percent-
  encoded, base64, inside a Basic ``Authorization`` value, JSON-escaped) with ``***``, and quotes
  at most a short, one-line excerpt of a body.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import urllib.parse
from collections.abc import Iterable

__all__ = ["SHORT_SECRET", "Redactor", "is_loopback", "origin", "plain_http_refusal"]

#: Secrets this long or shorter are redacted only where they stand alone (see Redactor.redact).
SHORT_SECRET = 7
#: How many characters of a server's answer a message quotes, at most.
EXCERPT = 200
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an http(s) URL, host in lower case and the port explicit;
    ``None`` when the URL is not an absolute http(s) URL with a host (or its port is invalid)."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (127.0.0.0/8, ::1) or ``localhost``; no DNS is asked."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def plain_http_refusal(url: str) -> str | None:
    """Why credentials must not be sent to ``url`` over plain HTTP, or ``None`` when they may."""
    where = origin(url)
    if where is None or where[0] != "http" or is_loopback(where[1]):
        return None
    return (
        "sends credentials over plain http:// to a host that is not loopback; use https:// "
        "(plain http is allowed only for 127.0.0.0/8, ::1 and localhost)"
    )


def _forms(secret: str) -> list[str]:
    """The forms a secret may take in an answer: as is, percent-encoded, base64, JSON-escaped."""
    raw = secret.encode()
    forms = [
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote(secret),
        urllib.parse.quote_plus(secret),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    ]
    forms += [form.rstrip("=") for form in forms if form.endswith("=")]
    return forms


class Redactor:
    """Replaces the secrets of one source, in every form, with ``***``.

    ``basic`` is the Basic-auth pair, if any: the encoded ``user:password`` (the value of the
    ``Authorization`` header) is redacted as a whole too. A form of :data:`SHORT_SECRET`
    characters or fewer is replaced only where it stands alone (not inside a longer word or
    number), so that a one-letter password does not turn ``xapi`` into ``***api``; a longer one
    is replaced wherever it appears. Percent-encoded forms match in either letter case.
    """

    def __init__(self, secrets: Iterable[str] = (), basic: tuple[str, str] | None = None) -> None:
        self.secrets = [s for s in secrets if s]
        forms: list[str] = []
        for secret in self.secrets:
            forms += _forms(secret)
        if basic is not None and basic[1]:
            pair = f"{basic[0]}:{basic[1]}".encode()
            forms += [base64.b64encode(pair).decode(), base64.b64encode(pair).decode().rstrip("=")]
        # Longest first, so that a form containing another is replaced whole.
        unique = sorted(dict.fromkeys(forms), key=len, reverse=True)
        self._patterns = [
            re.compile(
                re.escape(form) if len(form) > SHORT_SECRET else rf"(?<![0-9A-Za-z]){re.escape(form)}(?![0-9A-Za-z])",
                re.IGNORECASE if "%" in form else 0,
            )
            for form in unique
        ]

    def __call__(self, text: str) -> str:
        """``text`` with every form of every secret replaced by ``***``."""
        for pattern in self._patterns:
            text = pattern.sub("***", text)
        return text

    def excerpt(self, text: str, limit: int = EXCERPT) -> str:
        """A one-line excerpt of a server's text: redacted whole first, then cut to ``limit`` characters."""
        text = " ".join(self(text).split())
        return text if len(text) <= limit else text[: limit - 1] + "…"

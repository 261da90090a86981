"""HTTP for pulls: one ``requests`` session with timeouts, retries, backoff and secret redaction.

Retried (with exponential backoff): connection errors, timeouts, a body cut short, HTTP 429 and
5xx; a ``Retry-After`` header (seconds or an HTTP date) sets the wait instead, capped at
:attr:`RetryPolicy.max_delay`. Not retried: other 4xx answers. 401 and 403 are reported as bad
credentials. TLS certificates are verified unless a source explicitly turns it off.

No secret (password, token) reaches a log line, an error message or an exception's text: every
message is built here from the method, the URL without its query or user part, and the status,
and passed through :meth:`HttpClient.redact`.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests
from attrs import frozen

from peertrain import __version__
from peertrain.errors import PeertrainError

__all__ = ["AuthError", "HttpClient", "PullError", "RetryPolicy", "safe_url"]

log = logging.getLogger("peertrain.pull")

#: How much of an error body is quoted in a message.
_QUOTE = 200


class PullError(PeertrainError):
    """A learning system cannot be pulled from: unreachable, refused, or answered nonsense."""


class AuthError(PullError):
    """The learning system rejected the credentials (HTTP 401/403, or Moodle's invalid token)."""


#: Secrets this long or shorter are redacted only where they stand alone (see HttpClient.redact).
SHORT_SECRET = 7


@frozen
class RetryPolicy:
    """Timeouts and retries of one source's requests (seconds)."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    attempts: int = 5
    backoff: float = 1.0
    max_delay: float = 60.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """How long to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        wait = retry_after if retry_after is not None else self.backoff * 2 ** (attempt - 1)
        return max(0.0, min(wait, self.max_delay))


def safe_url(url: str) -> str:
    """A URL fit for messages: no user, password, query or fragment."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class HttpClient:
    """GET and POST JSON with the retry policy; ``label`` names the source in messages."""

    def __init__(
        self,
        label: str,
        *,
        auth: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
        verify: bool | str = True,
        secrets: Sequence[str] = (),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.label = label
        self.policy = policy or RetryPolicy()
        self._secrets = [s for s in secrets if s]
        self._sleep = sleep
        self.session = requests.Session()
        self.session.trust_env = False  # no proxy or .netrc credentials picked up behind our back
        self.session.verify = verify
        self.session.auth = auth
        self.session.headers.update({"User-Agent": f"peertrain/{__version__}", "Accept": "application/json"})
        self.session.headers.update(headers or {})

    def close(self) -> None:
        """Close the connections."""
        self.session.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced by ``***``.

        A secret of :data:`SHORT_SECRET` characters or fewer is replaced only where it stands
        alone (not inside a longer word or number), so that a one-letter password does not turn
        ``xapi`` into ``***api``; a longer one is replaced wherever it appears.
        """
        for secret in self._secrets:
            for form in dict.fromkeys((secret, urllib.parse.quote(secret, safe=""))):
                if len(form) > SHORT_SECRET:
                    text = text.replace(form, "***")
                else:
                    text = re.sub(rf"(?<![0-9A-Za-z]){re.escape(form)}(?![0-9A-Za-z])", "***", text)
        return text

    def get_json(self, url: str, params: Mapping[str, str] | None = None) -> Any:
        """GET ``url`` and return its JSON body."""
        return self._request("GET", url, params=params)

    def post_json(self, url: str, data: Mapping[str, str]) -> Any:
        """POST a form to ``url`` and return its JSON body."""
        return self._request("POST", url, data=data)

    def _fail(self, error: type[PullError], message: str) -> PullError:
        return error(self.redact(f"{self.label}: {message}"))

    def _request(self, method: str, url: str, **kwargs: Any) -> Any:
        where = f"{method} {safe_url(url)}"
        policy = self.policy
        problem = ""
        for attempt in range(1, policy.attempts + 1):
            retry_after: float | None = None
            try:
                log.debug("%s (attempt %d)", self.redact(where), attempt)
                response = self.session.request(
                    method, url, timeout=(policy.connect_timeout, policy.read_timeout), **kwargs
                )
                body = response.content  # read it all here, so a body cut short is retried
            except requests.exceptions.SSLError:
                raise self._fail(
                    PullError,
                    f"{where}: TLS failed (the certificate could not be verified, or the server does not "
                    "speak TLS); see 'verify_tls' in docs/pull.md",
                ) from None
            except requests.exceptions.Timeout:
                problem = f"timed out (connect {policy.connect_timeout:g} s, read {policy.read_timeout:g} s)"
            except requests.exceptions.ChunkedEncodingError:
                problem = "the connection broke while the answer was being read"
            except requests.exceptions.ConnectionError:
                problem = "cannot connect"
            except (
                requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema
            ):
                raise self._fail(PullError, f"{safe_url(url)!r} is not a valid URL") from None
            else:
                status = response.status_code
                if status in (401, 403):
                    raise self._fail(
                        AuthError,
                        f"{where}: the server rejected the credentials (HTTP {status}); check the source's "
                        "user name and secret",
                    )
                if status == 429 or status >= 500:
                    problem = f"HTTP {status}"
                    retry_after = _retry_after(response.headers.get("Retry-After"))
                elif status >= 400:
                    quote = body[:_QUOTE].decode("utf-8", "replace").strip()
                    raise self._fail(PullError, f"{where}: HTTP {status} {response.reason or ''}".rstrip() + (
                        f": {quote}" if quote else ""
                    ))
                else:
                    try:
                        return json.loads(body)
                    except ValueError:
                        raise self._fail(
                            PullError,
                            f"{where}: the answer is not complete JSON ({len(body)} bytes, HTTP {status}); "
                            "nothing of this pull was stored",
                        ) from None
            if attempt < policy.attempts:
                wait = policy.delay(attempt, retry_after)
                log.info("%s: %s; retrying in %.1f s", self.redact(where), problem, wait)
                self._sleep(wait)
        raise self._fail(
            PullError, f"{where}: {problem}, {policy.attempts} attempt(s); nothing of this pull was stored"
        )

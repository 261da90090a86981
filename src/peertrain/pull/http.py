"""HTTP for pulls: one ``requests`` session with timeouts, retries, limits, origin checks and redaction.

Retried (with exponential backoff): connection errors, timeouts, a body cut short, HTTP 429 and
5xx; a ``Retry-After`` header (seconds or an HTTP date) sets the wait instead, capped at
:attr:`RetryPolicy.max_delay`. Not retried: other 4xx answers. 401 and 403 are reported as bad
credentials. TLS certificates are verified unless a source explicitly turns it off.

Credentials stay with the source's server (see :mod:`peertrain.pull.safety`): every request is
checked, before it is sent, to be on the source's origin (scheme, host, port). Redirects are not
left to ``requests``: a redirect to the same origin is followed (at most :data:`MAX_REDIRECTS`
times), one to another origin is refused. Plain ``http://`` with credentials is refused unless
the host is loopback. Each answer is streamed, with a size cap (:attr:`RetryPolicy.max_bytes`)
and an overall deadline for the whole request (:attr:`RetryPolicy.deadline`: connecting,
redirects, headers and body together); exceeding either is not retried.

No secret (password, token) reaches a log line, an error message or an exception's text: every
message is built here from the method, the URL without its query or user part, and the status,
and passed through :meth:`HttpClient.redact`; a server's own words are quoted only as a short,
redacted excerpt.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests
import urllib3.exceptions
from attrs import frozen

from peertrain._version import __version__
from peertrain.errors import PeertrainError
from peertrain.pull.safety import SHORT_SECRET, Redactor, origin, plain_http_refusal

__all__ = ["MAX_REDIRECTS", "SHORT_SECRET", "AuthError", "HttpClient", "PullError", "RetryPolicy", "safe_url"]

log = logging.getLogger("peertrain.pull")

#: Same-origin redirects followed for one request, at most.
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: Bytes read from the network at a time, at most.
_CHUNK = 64 * 1024


class PullError(PeertrainError):
    """A learning system cannot be pulled from: unreachable, refused, or answered nonsense."""


class AuthError(PullError):
    """The learning system rejected the credentials (HTTP 401/403, or Moodle's invalid token)."""


@frozen
class RetryPolicy:
    """Timeouts, limits and retries of one source's requests (seconds, bytes)."""

    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    attempts: int = 5
    backoff: float = 1.0
    max_delay: float = 60.0
    #: The whole of one request (connect, redirects, headers, body), whatever the pace of the server.
    deadline: float = 120.0
    #: The largest answer accepted (after decompression).
    max_bytes: int = 64 * 1024 * 1024

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """How long to wait before attempt ``attempt + 1`` (``attempt`` counts from 1)."""
        wait = retry_after if retry_after is not None else self.backoff * 2 ** (attempt - 1)
        return max(0.0, min(wait, self.max_delay))


def safe_url(url: str) -> str:
    """A URL fit for messages: no user, password, query or fragment."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return "(an invalid URL)"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if port:
        host += f":{port}"
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


class _Retry(Exception):  # noqa: N818 - a signal between methods, not an error users see
    def __init__(self, problem: str, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.problem, self.retry_after = problem, retry_after


class HttpClient:
    """GET and POST JSON with the retry policy; ``label`` names the source in messages.

    ``origin`` is a URL of the source (its endpoint): every request must stay on its scheme, host
    and port. Without it, the first URL requested sets the origin.
    """

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
        origin: str | None = None,
    ) -> None:
        self.label = label
        self.policy = policy or RetryPolicy()
        self._redactor = Redactor([*secrets, *(auth[1:] if auth else ())], basic=auth)
        self._credentials = bool(auth) or bool(self._redactor.secrets)
        self._origin_url = origin
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
        """``text`` with every secret, in every form it may take, replaced by ``***``.

        A form of :data:`SHORT_SECRET` characters or fewer is replaced only where it stands alone
        (not inside a longer word or number); a longer one wherever it appears.
        """
        return self._redactor(text)

    def excerpt(self, text: str) -> str:
        """A server's text fit to quote: redacted, on one line, at most 200 characters."""
        return self._redactor.excerpt(text)

    def get_json(self, url: str, params: Mapping[str, str] | None = None) -> Any:
        """GET ``url`` and return its JSON body."""
        return self._request("GET", url, params=params)

    def post_json(self, url: str, data: Mapping[str, str]) -> Any:
        """POST a form to ``url`` and return its JSON body."""
        return self._request("POST", url, data=data)

    def _fail(self, error: type[PullError], message: str) -> PullError:
        return error(self.redact(f"{self.label}: {message}"))

    def check_target(self, url: str) -> None:
        """Refuse (:class:`PullError`) a URL the credentials must not be sent to: another origin
        than the source's, or plain HTTP to a host that is not loopback."""
        where = origin(url)
        if where is None:
            raise self._fail(PullError, f"{safe_url(url)!r} is not a valid http:// or https:// URL")
        if self._origin_url is None:
            self._origin_url = url
        own = origin(self._origin_url)
        if where != own:
            shown = f"{own[0]}://{own[1]}:{own[2]}" if own else "?"
            raise self._fail(
                PullError,
                f"{safe_url(url)} is not on the source's own origin ({shown}); refusing to send the credentials "
                "there; nothing of this pull was stored",
            )
        if self._credentials and (refusal := plain_http_refusal(url)):
            raise self._fail(PullError, f"{safe_url(url)} {refusal}")

    def _request(self, method: str, url: str, **kwargs: Any) -> Any:
        where = f"{method} {safe_url(url)}"
        policy = self.policy
        problem = ""
        for attempt in range(1, policy.attempts + 1):
            log.debug("%s (attempt %d)", self.redact(where), attempt)
            try:
                return self._exchange(where, method, url, kwargs)
            except _Retry as retry:
                problem = retry.problem
                if attempt < policy.attempts:
                    wait = policy.delay(attempt, retry.retry_after)
                    log.info("%s: %s; retrying in %.1f s", self.redact(where), problem, wait)
                    self._sleep(wait)
        raise self._fail(
            PullError, f"{where}: {problem}, {policy.attempts} attempt(s); nothing of this pull was stored"
        )

    def _exchange(self, where: str, method: str, url: str, kwargs: dict[str, Any]) -> Any:
        """One attempt: send, follow same-origin redirects, read the answer within the limits."""
        deadline = time.monotonic() + self.policy.deadline
        for _hop in range(MAX_REDIRECTS + 1):
            prepared = self.session.prepare_request(requests.Request(method, url, **kwargs))
            sent = prepared.url or url
            self.check_target(sent)  # what is about to be sent, as requests will send it
            response = self._send(where, prepared, deadline)
            try:
                status = response.status_code
                if status in _REDIRECTS:
                    location = response.headers.get("Location")
                    if not location:
                        raise self._fail(PullError, f"{where}: HTTP {status} without a Location to go to")
                    url = urllib.parse.urljoin(sent, location.strip())
                    if origin(url) != origin(sent):
                        raise self._fail(
                            PullError,
                            f"{where}: the server redirected to {safe_url(url)}, another origin: not followed, so "
                            "that the credentials stay with the source's server; nothing of this pull was stored",
                        )
                    log.debug("%s: HTTP %d to %s", self.redact(where), status, self.redact(safe_url(url)))
                    if status == 303 or (status in (301, 302) and method == "POST"):
                        method = "GET"  # what browsers (and requests) do; the form is not sent again
                    kwargs = {"data": kwargs["data"]} if method == "POST" and "data" in kwargs else {}
                    continue
                return self._answer(where, response, deadline)
            finally:
                response.close()
        raise self._fail(
            PullError, f"{where}: more than {MAX_REDIRECTS} redirects (a loop?); not followed further; "
            "nothing of this pull was stored",
        )

    def _remaining(self, where: str, deadline: float) -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise self._fail(
                PullError,
                f"{where}: no complete answer within the deadline of {self.policy.deadline:g} s (the server is too "
                "slow, or sends without end); nothing of this pull was stored",
            )
        return left

    def _send(self, where: str, prepared: requests.PreparedRequest, deadline: float) -> requests.Response:
        policy = self.policy
        left = self._remaining(where, deadline)
        timeout = (min(policy.connect_timeout, left), min(policy.read_timeout, left))
        try:
            return self.session.send(prepared, stream=True, timeout=timeout, allow_redirects=False)
        except requests.exceptions.SSLError:
            raise self._fail(
                PullError,
                f"{where}: TLS failed (the certificate could not be verified, or the server does not "
                "speak TLS); see 'verify_tls' in docs/pull.md",
            ) from None
        except requests.exceptions.Timeout:
            self._remaining(where, deadline)
            raise _Retry(
                f"timed out (connect {policy.connect_timeout:g} s, read {policy.read_timeout:g} s)"
            ) from None
        except requests.exceptions.ConnectionError:
            raise _Retry("cannot connect") from None
        except (
            requests.exceptions.InvalidURL, requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema
        ):
            raise self._fail(PullError, f"{safe_url(prepared.url or '')!r} is not a valid URL") from None

    def _body(self, where: str, response: requests.Response, deadline: float) -> bytes:
        """The whole body, read in pieces as they arrive, within the size cap and the deadline."""
        policy, limit = self.policy, self.policy.max_bytes
        too_large = (
            f"{where}: the answer is larger than the limit of {limit:,} bytes; nothing of this pull was stored"
        )
        declared = response.headers.get("Content-Length", "").strip()
        if declared.isdigit() and int(declared) > limit:
            raise self._fail(PullError, too_large)
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                self._remaining(where, deadline)
                chunk = response.raw.read1(_CHUNK, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise self._fail(PullError, too_large)
                chunks.append(chunk)
        except urllib3.exceptions.ReadTimeoutError:
            self._remaining(where, deadline)
            raise _Retry(
                f"timed out (connect {policy.connect_timeout:g} s, read {policy.read_timeout:g} s)"
            ) from None
        except (urllib3.exceptions.ProtocolError, urllib3.exceptions.DecodeError, OSError):
            raise _Retry("the connection broke while the answer was being read") from None
        return b"".join(chunks)

    def _answer(self, where: str, response: requests.Response, deadline: float) -> Any:
        status = response.status_code
        if status in (401, 403):
            raise self._fail(
                AuthError,
                f"{where}: the server rejected the credentials (HTTP {status}); check the source's "
                "user name and secret",
            )
        if status == 429 or status >= 500:
            raise _Retry(f"HTTP {status}", _retry_after(response.headers.get("Retry-After")))
        body = self._body(where, response, deadline)
        if not 200 <= status < 300:
            quote = self.excerpt(body.decode("utf-8", "replace"))
            reason = self.excerpt(response.reason or "")
            raise self._fail(PullError, f"{where}: HTTP {status} {reason}".rstrip() + (f": {quote}" if quote else ""))
        try:
            return json.loads(body)
        except ValueError:
            raise self._fail(
                PullError,
                f"{where}: the answer is not complete JSON ({len(body)} bytes, HTTP {status}); "
                "nothing of this pull was stored",
            ) from None

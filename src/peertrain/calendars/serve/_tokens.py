"""The feed secret and the feed tokens, for :mod:`peertrain.calendars.serve` (which re-exports the public
names): where the secret comes from (:func:`load_secret`), a feed's token and path (the
HMAC-SHA256 of its name: :func:`feed_token`, :func:`feed_path`) and keeping tokens out of logs
(:func:`redact`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

from peertrain._files import shown
from peertrain.errors import InputError

#: The environment variable holding the secret itself.
SECRET_ENV = "PEERTRAIN_FEED_SECRET"
#: The environment variable naming a file that holds the secret.
SECRET_FILE_ENV = "PEERTRAIN_FEED_SECRET_FILE"
#: The shortest secret accepted (``secrets.token_urlsafe(32)`` gives 43 characters).
MIN_SECRET_CHARS = 32
#: The fewest different characters a secret must hold: a rough guard against secrets that are
#: long but guessable (``aaaa...``, ``abab...``, a row of digits). 43 random URL-safe characters
#: hold about 31 different ones; fewer than 16 among 32 or more happens by chance with a
#: probability far below 10^-6.
MIN_DISTINCT_CHARS = 16
_HOW_TO_CREATE = (
    "create one with: (umask 077; python -c \"import secrets; print(secrets.token_urlsafe(32))\" > feed-secret) "
    "and set PEERTRAIN_FEED_SECRET_FILE=feed-secret (docs/calendars.md)"
)
_TOKEN_BYTES = 20  # 160 bits
_DOMAIN = b"peertrain feed token v1\x1f"
_FEEDS_IN_LOG = re.compile(r"/feeds/[^\s\"?]*")
#: A run of characters that could hold a token or part of one, however it is spelled: letters,
#: digits and the characters of percent-encoding and of paths' other spellings, 12 or more.
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9%._~+\-]{12,}")
#: The one spelling of a feed's path (``/feeds/`` and 32 lower-case base32 characters).
_CANONICAL = re.compile(r"/feeds/[a-z2-7]{32}\.ics")


# -- the secret and the tokens ----------------------------------------------------------------


def load_secret(secret_file: Path | None = None, environ: Mapping[str, str] | None = None) -> bytes:
    """The feed secret, from ``secret_file``, else the file named by ``PEERTRAIN_FEED_SECRET_FILE``,
    else ``PEERTRAIN_FEED_SECRET``. Surrounding white space (a file's final newline) is ignored.

    Raises :class:`~peertrain.errors.InputError` (which never shows the secret) when there is
    none, the file can be read by users other than its owner (group or others have any
    permission: ``chmod 600`` it), the file cannot be read, or the secret is shorter than
    :data:`MIN_SECRET_CHARS` characters or holds fewer than :data:`MIN_DISTINCT_CHARS` different
    characters.
    """
    env = os.environ if environ is None else environ
    path = secret_file or (Path(env[SECRET_FILE_ENV]) if env.get(SECRET_FILE_ENV) else None)
    if path is not None:
        _check_private(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise InputError(str(path), f"the feed secret cannot be read: {reason}") from None
        source = str(path)
    elif env.get(SECRET_ENV):
        text, source = env[SECRET_ENV], SECRET_ENV
    else:
        raise InputError(
            "feed secret",
            f"none given: set {SECRET_ENV} or {SECRET_FILE_ENV}, or give --secret-file; {_HOW_TO_CREATE}",
        )
    secret = text.strip()
    if len(secret) < MIN_SECRET_CHARS:
        raise InputError(
            source, f"the feed secret is too short ({len(secret)} characters, at least {MIN_SECRET_CHARS}); "
            f"{_HOW_TO_CREATE}",
        )
    distinct = len(set(secret))
    if distinct < MIN_DISTINCT_CHARS:
        raise InputError(
            source, f"the feed secret is too easy to guess ({distinct} different characters, at least "
            f"{MIN_DISTINCT_CHARS}); {_HOW_TO_CREATE}",
        )
    return secret.encode("utf-8")


def _check_private(path: Path) -> None:
    """Refuse a secret file that users other than its owner can read or write (POSIX)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return  # reading it says why
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(
            shown(path), f"the feed secret file can be read by other users; restrict it with: chmod 600 {shown(path)}"
        )


def feed_token(secret: bytes, name: str) -> str:
    """The URL token of the feed called ``name`` (``str(feed)``): the first 160 bits of
    HMAC-SHA256(secret, name) in lower-case base32, 32 characters."""
    digest = hmac.new(secret, _DOMAIN + name.encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest[:_TOKEN_BYTES]).decode("ascii").lower()


def feed_path(secret: bytes, name: str) -> str:
    """The path the feed called ``name`` is served at: ``/feeds/<token>.ics``."""
    return f"/feeds/{feed_token(secret, name)}.ics"


def log_target(target: str) -> str:
    """How the access log shows a request target: ``/feeds/…`` for the canonical spelling of
    a feed's path (with ``?…`` when it had a query), ``/…`` for anything else. A path is never
    logged: whatever spelling a request used (``/%66eeds/``, backslashes, a token split over
    segments), no part of a token reaches the log."""
    path, sep, _query = target.partition("?")
    shown = "/feeds/…" if _CANONICAL.fullmatch(path) else "/…"
    return shown + ("?…" if sep else "")


def redact(text: str) -> str:
    """``text`` with every ``/feeds/...`` path replaced by ``/feeds/…`` and every other run of 12
    or more characters that could be (part of) a token, percent-encoded or not, by ``…`` (for
    every log line)."""
    text = _FEEDS_IN_LOG.sub("/feeds/…", text)
    return _TOKEN_LIKE.sub("…", text)

"""Evidence files for self-reported training: read bounded, recognised by content, hashed.

A certificate is accepted as a PDF, a PNG or a JPEG, recognised by its first bytes (its *magic
number*), never by its name: ``certificate.png`` holding a PDF is a PDF, ``setup.pdf`` holding a
program is refused. The checks, in order, each refusing with one line and reading nothing more:

1. the path is a regular file (not a folder, a device or a pipe);
2. it is not empty;
3. it is at most :data:`MAX_BYTES` (25 MB, 25,000,000 bytes), by its size on disk, before
   reading it; then at most that many bytes plus one are read, so a file that grows while it
   is read is refused too;
4. its first bytes are one of :data:`MAGIC`.

The content's SHA-256 is what the ledger stores with it, so the file cannot be swapped later.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat

from attrs import frozen

from peertrain._files import shown
from peertrain._types import StrPath
from peertrain.errors import InputError

__all__ = ["MAGIC", "MAX_BYTES", "Evidence", "media_type_of", "read_evidence", "safe_file_name"]

#: The largest evidence file accepted: 25 MB (decimal megabytes).
MAX_BYTES = 25_000_000

#: The media types accepted, by the bytes their files start with.
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)

#: The longest file name kept (longer ones are cut, keeping the end with its extension).
MAX_NAME = 200

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


@frozen
class Evidence:
    """One evidence file as read: its (safe) name, media type, size, SHA-256 (hex) and bytes."""

    name: str
    media_type: str
    size: int
    sha256: str
    content: bytes


def media_type_of(content: bytes) -> str | None:
    """The media type the content's first bytes say (see :data:`MAGIC`), or ``None``."""
    for magic, media_type in MAGIC:
        if content.startswith(magic):
            return media_type
    return None


def safe_file_name(name: str) -> str:
    """A file name as it can be stored and shown: undecodable bytes and control characters
    written as ``\\xNN`` escapes, and at most :data:`MAX_NAME` characters."""
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", shown(name)).strip() or "evidence"
    return text if len(text) <= MAX_NAME else "..." + text[-(MAX_NAME - 3) :]


def read_evidence(path: StrPath) -> Evidence:
    """Read and check one evidence file (see the module's documentation); an
    :class:`~peertrain.errors.InputError` naming the file says why one is refused."""
    where = shown(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise InputError(where, f"cannot be read: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InputError(where, "is not a regular file")
        if info.st_size == 0:
            raise InputError(where, "is empty; an evidence file is a PDF, PNG or JPEG certificate")
        if info.st_size > MAX_BYTES:
            raise InputError(
                where, f"is {info.st_size:,} bytes; evidence files are at most {MAX_BYTES:,} bytes (25 MB)"
            )
        try:
            content = handle.read(MAX_BYTES + 1)
        except OSError as exc:
            raise InputError(where, f"cannot be read: {exc.strerror or exc}") from None
    if len(content) > MAX_BYTES:
        raise InputError(where, f"grew past {MAX_BYTES:,} bytes while it was read; evidence files are at most 25 MB")
    if not content:
        raise InputError(where, "is empty; an evidence file is a PDF, PNG or JPEG certificate")
    media_type = media_type_of(content)
    if media_type is None:
        raise InputError(
            where, "is not a PDF, PNG or JPEG file (recognised by its content, whatever its name); nothing was stored"
        )
    name = safe_file_name(os.path.basename(os.fsdecode(path)))
    return Evidence(name, media_type, len(content), hashlib.sha256(content).hexdigest(), content)

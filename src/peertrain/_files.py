"""Writing the files peertrain makes, and naming files in messages.

Everything peertrain writes (reports, verdicts, calendars, rejects CSVs, schedules) holds personal
data and may be written into a folder other people can write to. :func:`atomic_write` (and
:func:`write_text` / :func:`write_bytes` over it) therefore writes a *new* file:

- the data goes to a temporary file made in the target's folder by :func:`tempfile.mkstemp`
  (``O_CREAT | O_EXCL``, mode 0600, an unpredictable name ``.<name>.<random>``), so nobody can
  have planted it, nor read it while it is written;
- it is flushed and ``fsync``-ed, then :func:`os.replace` puts it in place: a symbolic link at the
  target is replaced (not followed) and a file already there is replaced with its mode, so the
  result is always a regular file readable by its owner alone;
- on any failure the temporary file is removed and the target is left as it was.

:func:`create_private` makes an empty 0600 file that must not exist yet (the ledger, before
SQLite opens it). :func:`shown` makes a path printable whatever bytes its name holds.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, Literal, TextIO, overload

from peertrain.errors import InputError

__all__ = ["PRIVATE_MODE", "atomic_write", "create_private", "printable", "shown", "write_bytes", "write_text"]

#: The mode of every file peertrain creates: read and write for its owner only.
PRIVATE_MODE = 0o600


def shown(path: os.PathLike[str] | str | bytes) -> str:
    """``path`` as text that can always be printed or stored: bytes that are not UTF-8 (kept by
    Python as lone surrogates, e.g. ``b'caf\\xe9.csv'`` on Linux) appear as ``\\xe9``."""
    return printable(os.fsdecode(path))


def printable(text: str) -> str:
    """``text`` with lone surrogates (undecodable bytes of a file name) written as backslash
    escapes, so that it can be printed, encoded as UTF-8 or stored."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that stands for no byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


@overload
def atomic_write(
    path: Path | str, mode: Literal["w"] = "w", *, encoding: str = "utf-8", newline: str | None = ""
) -> contextlib.AbstractContextManager[TextIO]: ...
@overload
def atomic_write(
    path: Path | str, mode: Literal["wb"], *, encoding: str = "utf-8", newline: str | None = ""
) -> contextlib.AbstractContextManager[BinaryIO]: ...
def atomic_write(
    path: Path | str, mode: Literal["w", "wb"] = "w", *, encoding: str = "utf-8", newline: str | None = ""
) -> contextlib.AbstractContextManager[IO[Any]]:
    """A context manager giving a file to write ``path``'s new content to (text with ``mode``
    ``"w"``, the default, or bytes with ``"wb"``); the file replaces ``path`` when the block ends
    without an exception, and is removed otherwise (see the module's documentation).

    An :class:`OSError` while creating, writing or replacing is raised as an
    :class:`~peertrain.errors.InputError` naming ``path`` (``cannot be written: ...``).
    """
    return _atomic(Path(path), mode, encoding, newline)


@contextlib.contextmanager
def _atomic(path: Path, mode: str, encoding: str, newline: str | None) -> Iterator[IO[Any]]:
    folder = path.parent
    try:
        fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise _unwritable(path, exc) from None
    try:
        binary = "b" in mode
        handle: IO[Any] = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding=encoding, newline=newline)
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise _unwritable(path, exc) from None
        raise
    _sync_folder(folder)


def _unwritable(path: Path, exc: OSError) -> InputError:
    return InputError(shown(path), f"cannot be written: {exc.strerror or exc}")


def _sync_folder(folder: Path) -> None:
    """Make the rename durable (where the system allows opening a folder)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(fd)


def write_text(path: Path | str, text: str, *, encoding: str = "utf-8", newline: str | None = "") -> None:
    """Write ``text`` to ``path`` through :func:`atomic_write` (``newline=""`` writes line ends
    as they are in ``text``)."""
    with atomic_write(path, encoding=encoding, newline=newline) as handle:
        handle.write(text)


def write_bytes(path: Path | str, data: bytes) -> None:
    """Write ``data`` to ``path`` through :func:`atomic_write`."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def create_private(path: Path | str) -> None:
    """Create ``path`` as an empty file of mode 0600 (whatever the umask); raises
    :class:`FileExistsError` when something, even a dangling symbolic link, is already there."""
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0), PRIVATE_MODE)
    try:
        if hasattr(os, "fchmod"):  # the umask can only remove bits; this makes the mode exact
            os.fchmod(fd, PRIVATE_MODE)
    finally:
        os.close(fd)

"""References to secrets, and where they may point.

A sources file may come from someone else (it is read from the current folder by default), and
whatever a reference reads is sent to that file's endpoint. So a reference can reach only what
was set aside for peertrain:

- ``env:NAME``: an environment variable whose name starts with :data:`ENV_PREFIX`
  (``env:PEERTRAIN_LRS_PASSWORD``), never ``HOME``, ``AWS_SECRET_ACCESS_KEY`` or the like.
- ``file:PATH``: a file in the sources file's folder or below it. The path is relative, has no
  ``..``, and, symbolic links resolved, stays inside the folder. The file must be a regular file
  owned by the current user and not readable or writable by group or others (``chmod 600``);
  these two checks need POSIX ownership and modes and are skipped where there are none (Windows).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path, PurePosixPath, PureWindowsPath

from attrs import field, frozen

from peertrain.errors import InputError

__all__ = ["ENV_PREFIX", "MAX_SECRET_BYTES", "Secret", "reference_problem"]

#: The prefix of every environment variable an ``env:`` reference may name.
ENV_PREFIX = "PEERTRAIN_"
#: The largest secret file read.
MAX_SECRET_BYTES = 64 * 1024
_ENV_NAME = re.compile(rf"{ENV_PREFIX}[A-Za-z0-9_]+")


def reference_problem(reference: str) -> str | None:
    """Why ``reference`` is refused (from its text alone), or ``None``. Never quotes it: a
    mistyped reference may be the secret itself."""
    kind, _, rest = reference.partition(":")
    if kind not in ("env", "file") or not rest:
        return "must be a reference 'env:VARIABLE' or 'file:PATH', not the secret itself"
    if kind == "env":
        if not _ENV_NAME.fullmatch(rest):
            return (
                f"'env:' may name only an environment variable whose name starts with {ENV_PREFIX} "
                f"(e.g. env:{ENV_PREFIX}LRS_PASSWORD), so that a shared sources file cannot send any other "
                "variable away"
            )
        return None
    posix, windows = PurePosixPath(rest), PureWindowsPath(rest)
    if posix.is_absolute() or windows.anchor or rest.startswith("~"):
        return (
            "'file:' must be a path relative to the sources file's folder (absolute paths and ~ are refused): "
            "put the secret file in that folder or below it"
        )
    if ".." in posix.parts or ".." in windows.parts:
        return "'file:' must not climb out of the sources file's folder with '..'"
    return None


@frozen
class Secret:
    """A reference to a secret (``env:NAME`` or ``file:PATH``); :meth:`value` reads it.

    ``base`` is the folder ``file:`` paths are relative to (the sources file's) and the only one
    they may read from; ``where`` names the source and key in messages.
    """

    reference: str
    base: Path = field(default=Path(), repr=False)
    where: str = field(default="", repr=False)

    def value(self) -> str:
        """The secret itself; an :class:`InputError` naming the reference (never the value) when it
        is refused, missing or unsafe."""
        problem = reference_problem(self.reference)
        if problem is not None:
            raise InputError(self.where, problem)
        kind, _, name = self.reference.partition(":")
        if kind == "env":
            text = os.environ.get(name)
            if not text:
                raise InputError(self.where, f"the environment variable {name} is not set (or empty)")
            return text
        return self._read_file(name)

    def _read_file(self, name: str) -> str:
        base = self.base.resolve()
        path = base / name
        try:
            real = path.resolve(strict=True)
            if not real.is_relative_to(base):
                raise InputError(
                    self.where, f"the secret file {path} leads outside {base} (a symbolic link?); keep it there"
                )
            info = real.stat()
            if not stat.S_ISREG(info.st_mode):
                raise InputError(self.where, f"the secret file {path} is not a regular file")
            if hasattr(os, "getuid") and info.st_uid != os.getuid():
                raise InputError(
                    self.where, f"the secret file {path} is owned by another user; it must be yours (chown it)"
                )
            if hasattr(os, "getuid") and info.st_mode & 0o077:
                raise InputError(
                    self.where,
                    f"the secret file {path} can be read or changed by others (mode {stat.S_IMODE(info.st_mode):04o}); "
                    f"run: chmod 600 {path}",
                )
            if info.st_size > MAX_SECRET_BYTES:
                raise InputError(self.where, f"the secret file {path} is larger than {MAX_SECRET_BYTES} bytes")
            text = real.read_text(encoding="utf-8").removesuffix("\n").removesuffix("\r")
        except OSError as exc:
            raise InputError(self.where, f"cannot read the secret file {path} ({exc.strerror})") from None
        except UnicodeDecodeError:
            raise InputError(self.where, f"the secret file {path} is not UTF-8 text") from None
        if not text:
            raise InputError(self.where, f"the secret file {path} is empty")
        return text

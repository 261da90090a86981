"""Type aliases of the public API."""

from __future__ import annotations

import os
from typing import TypeAlias

__all__ = ["StrPath"]

#: A file path as every public function that reads or writes a file accepts it: ``"team.db"``,
#: ``pathlib.Path("team.db")`` or any other ``os.PathLike[str]``.
StrPath: TypeAlias = str | os.PathLike[str]

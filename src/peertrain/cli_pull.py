"""``peertrain pull``: incremental pulls from learning systems (xAPI LRS, Moodle) into the ledger.

A thin layer over :mod:`peertrain.pull` (to be built: issue 5).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_commands", "run"]


def add_commands(commands: Any) -> None:
    """Add ``pull`` to the ``peertrain`` sub-command parser."""
    parser = commands.add_parser(
        "pull",
        help="pull new completions from an xAPI LRS or a Moodle site into the ledger",
        description="Pull new completions from a learning system into the ledger (not built yet).",
    )
    parser.set_defaults(subparser=parser)


def run(args: argparse.Namespace) -> int:
    """Run ``pull``; returns the exit status."""
    args.subparser.error("not built yet")
    return 2  # pragma: no cover - error() exits

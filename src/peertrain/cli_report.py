"""``peertrain report``: the compliance report for a chief, the team or an auditor.

A thin layer over :mod:`peertrain.report` (to be built: issue 6).
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_commands", "run"]


def add_commands(commands: Any) -> None:
    """Add ``report`` to the ``peertrain`` sub-command parser."""
    parser = commands.add_parser(
        "report",
        help="write the compliance report (HTML, CSV or JSON)",
        description="Write the compliance report (not built yet).",
    )
    parser.set_defaults(subparser=parser)


def run(args: argparse.Namespace) -> int:
    """Run ``report``; returns the exit status."""
    args.subparser.error("not built yet")
    return 2  # pragma: no cover - error() exits

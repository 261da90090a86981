"""The options of every command that writes feeds (``peertrain calendar`` and ``peertrain serve``,
which :func:`peertrain.calendars.serve.make_app` reads too): privacy, the schedule, the data options, alarms,
reminder events and the refresh interval.
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from peertrain.calendars.feed import DEFAULT_ALARM_DAYS, DEFAULT_REFRESH
from peertrain.imports.inputs import add_data_arguments
from peertrain.rules.privacy import Privacy

__all__ = ["add_feed_arguments"]


def _offsets(text: str) -> tuple[int, ...]:
    if text.strip().lower() == "none":
        return ()
    try:
        days = tuple(int(part) for part in text.split(","))
    except ValueError:
        days = (0,)
    if not days or any(d <= 0 for d in days):
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of days > 0 (or 'none')")
    return days


def _hours(text: str) -> dt.timedelta:
    try:
        hours = float(text)
    except ValueError:
        hours = 0
    if not 0.1 <= hours <= 24 * 30:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of hours between 0.1 and 720")
    return dt.timedelta(hours=hours)


def add_feed_arguments(parser: argparse.ArgumentParser, *, privacy_help: str) -> None:
    """The options every feed-writing command shares (``calendar`` and ``serve``): privacy, the
    schedule, the data options of ``check``, alarms, reminder events and the refresh interval."""
    parser.add_argument("--privacy", choices=[p.value for p in Privacy], default="full", help=privacy_help)
    parser.add_argument("--sessions", type=Path, metavar="FILE",
                        help="training schedule TOML (default with --demo: the demo's sessions.toml)")
    add_data_arguments(parser)
    parser.add_argument("--alarms", type=_offsets, default=DEFAULT_ALARM_DAYS, metavar="DAYS",
                        help="alarm offsets in days before a deadline, e.g. 90,30,7 (the default), or 'none'")
    parser.add_argument("--reminder-events", action="store_true",
                        help="also add each alarm offset as its own all-day reminder event")
    parser.add_argument("--refresh-hours", type=_hours, default=DEFAULT_REFRESH, metavar="HOURS",
                        help="how often subscribers should refresh (default 12)")

"""Pulling completions from learning systems over HTTP: an xAPI LRS and Moodle web services.

Each source (declared in a TOML file, :func:`~peertrain.pull.sources.load_sources`) keeps a
cursor in the ledger; a pull fetches what is new since it and stores it as one import batch,
with the cursor, in one transaction. See ``docs/pull.md``.
"""

from __future__ import annotations

from peertrain.pull.http import AuthError, HttpClient, PullError, RetryPolicy
from peertrain.pull.moodle import MoodleClient, pull_moodle
from peertrain.pull.sources import MoodleSource, Secret, Sources, XapiSource, load_sources
from peertrain.pull.sync import PullResult
from peertrain.pull.xapi import pull_xapi

__all__ = [
    "AuthError",
    "HttpClient",
    "MoodleClient",
    "MoodleSource",
    "PullError",
    "PullResult",
    "RetryPolicy",
    "Secret",
    "Sources",
    "XapiSource",
    "load_sources",
    "pull_moodle",
    "pull_xapi",
]

"""What the tests that start a real server (an LRS, a CalDAV server) share: a free loopback port,
and the rule for a server that is not installed: skip locally, fail under CI (which must run
them; ``.ci/run`` installs each one)."""

from __future__ import annotations

import os
import socket
from typing import NoReturn

import pytest


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def not_installed(message: str, tests: str) -> NoReturn:
    """Skip with ``message``; under ``CI`` fail instead, naming the ``tests`` CI must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI must run the {tests} tests)")
    pytest.skip(message)

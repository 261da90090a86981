"""Pulling from a real LRS: ralph (``ralph-malph``) with its file backend, on loopback.

The ``ralph`` executable is found through ``PEERTRAIN_RALPH`` (a path), else on ``PATH``. Without
it these tests skip locally, and fail when ``CI`` is set (CI must run them). ``.ci/run`` installs
ralph into its own virtual environment.

Two quirks of ralph 5.1's file backend shape the test (see docs/pull.md): it cannot append to its
statements file (a second POST fails with "already exists"), so :meth:`Ralph.load` moves the file
aside, POSTs, and joins the two files; and it filters ``since`` on ``timestamp`` rather than
``stored``, so the statements loaded after the first pull carry no timestamp (ralph sets it to the
stored time).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
import zoneinfo
from decimal import Decimal

import pytest
import requests

import xapi_statements as xs
from local_servers import free_port, not_installed
from peertrain.cli import main
from peertrain.pull import AuthError, pull_xapi
from peertrain.rules.loading import curricula_dir
from pull_fixtures import PASSWORD, catalogue_with_lrs_courses, team_ledger, xapi_source

__all__ = ["team_ledger"]  # a fixture

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
AUTH = ("peertrain", PASSWORD)


def ralph_executable() -> str:
    path = os.environ.get("PEERTRAIN_RALPH") or shutil.which("ralph")
    if path and os.access(path, os.X_OK):
        return path
    message = "ralph is not installed: set PEERTRAIN_RALPH to its path or put 'ralph' on PATH"
    return not_installed(message, "LRS")


class Ralph:
    """A running ralph LRS with the file backend in ``folder``."""

    def __init__(self, executable: str, folder) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.log_path = folder / "ralph.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "RALPH_APP_DIR": str(folder / "app"), "RALPH_RUNSERVER_BACKEND": "fs"}
        subprocess.run(
            [executable, "auth", "-u", AUTH[0], "-p", AUTH[1], "-s", "all", "-M", "mailto:lrs@pinelake.example", "-w"],
            env=self.env, cwd=folder, check=True, capture_output=True, timeout=60,
        )
        with self.log_path.open("wb") as log:
            # Its own session, so that teardown stops ralph's reloader and server together.
            self.process = subprocess.Popen(
                [executable, "runserver", "-b", "fs", "--fs-default-directory-path", str(self.data),
                 "-h", "127.0.0.1", "-p", str(self.port)],
                env=self.env, cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        self._wait()

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"ralph exited ({self.process.returncode}):\n{self.log_path.read_text()[-2000:]}")
            try:
                if requests.get(f"{self.url}/__heartbeat__", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        self.stop()
        pytest.fail(f"ralph did not start within 60 s:\n{self.log_path.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)

    def load(self, statements) -> None:
        """POST statements through ralph's own API (working around its append limitation)."""
        current = self.data / "fs_lrs.jsonl"
        aside = self.data / "earlier.jsonl"
        if current.exists():
            current.rename(aside)
        answer = requests.post(f"{self.url}/xAPI/statements", json=statements, auth=AUTH, timeout=30,
                               headers={"X-Experience-API-Version": "1.0.3"})
        assert answer.status_code == 200, answer.text
        assert answer.json() == [s["id"] for s in statements]
        if aside.exists():
            current.write_bytes(aside.read_bytes() + current.read_bytes())
            aside.unlink()

    def statement(self, statement_id: str) -> dict:
        answer = requests.get(f"{self.url}/xAPI/statements", params={"statementId": statement_id}, auth=AUTH,
                              timeout=30)
        found = answer.json()
        if "statements" in found:  # ralph 5.1's file backend answers a list, not the statement
            found = next(s for s in found["statements"] if s["id"] == statement_id)
        return found

    def requests_logged(self) -> list[dict[str, str]]:
        """The query of each GET /xAPI/statements ralph logged, oldest first."""
        found = re.findall(r'"GET /xAPI/statements\?([^ ]*) HTTP', self.log_path.read_text())
        return [dict(urllib.parse.parse_qsl(q)) for q in found]


@pytest.fixture(scope="module")
def ralph(tmp_path_factory):
    server = Ralph(ralph_executable(), tmp_path_factory.mktemp("ralph"))
    yield server
    server.stop()


def test_pull_from_ralph_then_pull_again(ralph, team_ledger, tmp_path):
    """Load completed, passed, failed, other-verb, unknown-learner and unknown-activity statements,
    pull, and check the exact ledger; load a voiding statement and a new completion, pull again:
    only those two are fetched (since the cursor), the voided record is retracted; a third pull
    finds nothing."""
    ralph.load(xs.FIRST)
    catalogue = catalogue_with_lrs_courses()
    source = xapi_source(ralph.url)
    first = pull_xapi(team_ledger, source, catalogue, now=NOW)
    assert sorted((r.id, r.hours, r.record_id[-2:]) for r, _ in team_ledger.records()) == [
        ("PL-01/pinelake-wellness/2025-03-04", None, "01"),
        ("PL-02/icisf-gci/2025-02-10", Decimal("13.5"), "02"),
        ("PL-03/pinelake-wellness/2025-04-01/failed", None, "03"),
        ("PL-04/qpr/2025-04-06", None, "08"),
    ]
    assert sorted(h.reason for h in team_ledger.held()) == [
        "unknown course 'Firearms Qualification'",
        "unknown course 'https://LRS.pinelake.example/activities/wellness-seminar'",
        "unknown person 'jordan.pike@riverbend.example'",
    ]
    c = first.batch.counts
    assert (c.rows_read, c.imported, c.not_completed, c.duplicates, c.rejected, c.unmatched) == (7, 4, 1, 0, 0, 3)
    assert (first.fetched, first.skipped, first.requests) == (8, 1, 3)
    stored = max(dt.datetime.fromisoformat(ralph.statement(s["id"])["stored"]) for s in xs.FIRST)
    assert team_ledger.cursor("xapi:pinelake-lrs") == stored.astimezone(dt.UTC).isoformat(timespec="microseconds")
    assert all("since" not in q for q in ralph.requests_logged())

    ralph.load(xs.second(timestamps=False))
    logged = len(ralph.requests_logged())
    second = pull_xapi(team_ledger, source, catalogue, now=NOW)
    queries = ralph.requests_logged()[logged:]
    assert [q.get("since") for q in queries] == [first.cursor_after]
    asist = ralph.statement(xs.second()[1]["id"])
    day = dt.datetime.fromisoformat(asist["timestamp"]).astimezone(zoneinfo.ZoneInfo("America/Chicago")).date()
    assert sorted(r.id for r, _ in team_ledger.records()) == [
        "PL-01/pinelake-wellness/2025-03-04",
        "PL-02/icisf-gci/2025-02-10",
        f"PL-03/asist/{day.isoformat()}",
        "PL-03/pinelake-wellness/2025-04-01/failed",
    ]
    c = second.batch.counts
    assert (second.fetched, second.voiding, c.rows_read, c.imported, c.retracted) == (2, 1, 1, 1, 1)
    assert team_ledger.retracted_record_ids(second.batch.id) == [xs.FIRST[7]["id"]]

    third = pull_xapi(team_ledger, source, catalogue, now=NOW)
    assert (third.batch, third.fetched) == (None, 0)
    assert [b.counts.imported for b in team_ledger.batches()] == [4, 1]


def test_wrong_password_is_a_clear_error(ralph, team_ledger, monkeypatch):
    """ralph answers 401 to a wrong password: an AuthError, nothing stored."""
    monkeypatch.setenv("PEERTRAIN_TEST_LRS_PASSWORD", "not-the-password")
    with pytest.raises(AuthError, match="rejected the credentials"):
        pull_xapi(team_ledger, xapi_source(ralph.url), catalogue_with_lrs_courses(), now=NOW)
    assert team_ledger.batches() == []


def test_the_command_line_pulls_from_ralph(ralph, tmp_path, monkeypatch, capsys):
    """'peertrain pull xapi' with a sources file whose password is a file reference."""
    (tmp_path / "lrs-password").write_text(PASSWORD + "\n")
    (tmp_path / "lrs-password").chmod(0o600)  # a secret file readable by others is refused
    (tmp_path / "sources.toml").write_text(
        f'[xapi.pinelake-lrs]\nendpoint = "{ralph.url}/xAPI/"\nusername = "peertrain"\n'
        'password = "file:lrs-password"\nhours_extension = "https://peertrain.example/xapi/extensions/contact-hours"\n'
    )
    roster = str(curricula_dir() / "demo" / "roster.csv")
    ledger = str(tmp_path / "team.db")
    assert main(["ledger", "init", ledger, "--timezone", "America/Chicago", "--roster", roster]) == 0
    catalog = str(os.path.join(os.path.dirname(__file__), "data", "pull", "lrs-courses.toml"))
    argv = ["pull", "xapi", "--source", "pinelake-lrs", "--ledger", ledger, "--sources",
            str(tmp_path / "sources.toml"), "--catalog", catalog]
    capsys.readouterr()
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "xapi:pinelake-lrs: " in out
    assert PASSWORD not in out
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("xapi:pinelake-lrs: 0 statement(s) fetched in 1 request(s) since ")

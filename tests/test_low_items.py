"""The low-severity items of the security issue (item 9): file names at privacy ``none``,
exemption reasons at privacy ``none``, the feed secret's file mode and strength, bounds on rule
packs' months and on session recurrences, and file names that are not UTF-8.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from peertrain.calendars.serve import make_app
from peertrain.cli import main
from peertrain.errors import InputError
from peertrain.rules.loading import curricula_dir, data_dir

DEMO = curricula_dir() / "demo"
ROSTER = DEMO / "roster.csv"
COPS_CSV = data_dir() / "integrations" / "samples" / "cops-portal-transcript.csv"
EXAMPLE_PACK = curricula_dir() / "packs" / "example-agency.toml"
GOOD_SECRET = "Zq3v9Lr0Xk2Pw7Mn5Bt8Yc4Hd6Jf1Gs0Qa9Ue2Wi7Ro"


def reasons() -> list[str]:
    """The reasons of the demo's exemptions file."""
    lines = (DEMO / "exemptions.csv").read_text(encoding="utf-8").splitlines()
    import csv

    return [row["reason"] for row in csv.DictReader(lines)]


# -- (a) file names in the report's data sources ---------------------------------------------------


def test_report_at_privacy_none_shows_no_file_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A roster file named after a person does not appear in the report at privacy ``none``
    (in any format); the data sources say the name was withheld. At ``full`` it is shown."""
    folder = tmp_path / "Jane Smith"
    folder.mkdir()
    roster = folder / "jane-smith-roster.csv"
    roster.write_bytes(ROSTER.read_bytes())
    completions = folder / "jane-smith-completions.csv"
    completions.write_bytes((DEMO / "completions.csv").read_bytes())
    argv = ["report", "--roster", str(roster), "--completions", str(completions), "--rules", "example-agency",
            "--as-of", "2026-11-15"]
    for fmt in ("html", "csv", "json"):
        assert main([*argv, "--privacy", "none", "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert "jane" not in out.lower(), fmt
        assert "file name withheld at privacy none" in out
    assert main([*argv, "--privacy", "full", "--format", "json"]) == 0
    assert "jane-smith-roster.csv" in capsys.readouterr().out


def test_report_at_privacy_none_withholds_import_batch_file_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An import batch appears as ``batch N`` with its file name withheld."""
    ledger = tmp_path / "team.db"
    export = tmp_path / "transcript-dana-whitfield.csv"
    export.write_bytes(COPS_CSV.read_bytes())
    assert main(["ledger", "init", str(ledger), "--timezone", "America/Chicago", "--roster", str(ROSTER)]) == 0
    assert main(["import", "--profile", "cops-portal-csv", "--ledger", str(ledger), str(export)]) == 0
    capsys.readouterr()
    assert main(["report", "--ledger", str(ledger), "--rules", "example-agency", "--as-of", "2026-11-15",
                 "--privacy", "none", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "whitfield" not in out.lower()
    assert "team.db" not in out
    assert "batch 1, imported" in out


# -- (b) exemption reasons in check at privacy none -------------------------------------------------


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_check_at_privacy_none_leaves_exemption_reasons_out(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    """As the report does, ``check --privacy none`` shows no exemption or equivalency reason (in
    the explanation nor, in JSON, the waiver); at ``full`` they are shown."""
    assert main(["check", "--demo", "--privacy", "none", "--format", fmt]) == 1
    out = " ".join(capsys.readouterr().out.split())  # the table wraps its lines
    for reason in reasons():
        assert reason not in out
    assert "reason left out at privacy none" in out
    assert main(["check", "--demo", "--privacy", "full", "--format", fmt]) == 1
    full = " ".join(capsys.readouterr().out.split())
    assert all(reason in full for reason in reasons())


def test_check_ledger_at_privacy_none_leaves_exemption_reasons_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The streamed ``check --ledger`` output leaves them out too."""
    ledger = tmp_path / "team.db"
    assert main(["ledger", "init", str(ledger), "--timezone", "America/Chicago", "--roster", str(ROSTER)]) == 0
    exemptions = tmp_path / "exemptions.csv"
    exemptions.write_text("\n".join((DEMO / "exemptions.csv").read_text(encoding="utf-8").splitlines()[:2]) + "\n",
                          encoding="utf-8")
    capsys.readouterr()
    status = main(["check", "--ledger", str(ledger), "--exemptions", str(exemptions), "--rules", "example-agency",
                   "--as-of", "2026-11-15", "--privacy", "none", "--format", "json"])
    out, err = capsys.readouterr()
    assert status == 1, err
    verdicts = json.loads(out)
    waivers = [v["waiver"] for v in verdicts if v["waiver"]]
    assert waivers
    assert {w["reason"] for w in waivers} == {"reason left out at privacy none"}


# -- (c) the feed secret -----------------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_serve_refuses_a_secret_file_others_can_read(mode: int, tmp_path: Path) -> None:
    """A secret file with any permission for group or others is refused, saying ``chmod 600``."""
    path = tmp_path / "feed-secret"
    path.write_text(GOOD_SECRET + "\n", encoding="utf-8")
    path.chmod(mode)
    with pytest.raises(InputError, match=r"can be read by other users; restrict it with: chmod 600 "):
        make_app(["--demo", "--secret-file", str(path)], environ={})
    path.chmod(0o600)
    assert make_app(["--demo", "--secret-file", str(path)], environ={}) is not None


@pytest.mark.parametrize("secret", ["a" * 32, "ab" * 40, "0123456789" * 5, "abcdefghijklmno" * 3])
def test_serve_refuses_a_low_entropy_secret(secret: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A secret long enough but with fewer than 16 different characters is refused (exit 2, one
    line that does not show the secret)."""
    with pytest.raises(InputError, match="too easy to guess") as info:
        make_app(["--demo"], environ={"PEERTRAIN_FEED_SECRET": secret})
    assert secret not in str(info.value)


# -- (d) rule packs' months ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('window = { kind = "periodic", months = 3 }', 'window = { kind = "periodic", months = 1000000000 }',
         "requirements[0].window"),
        ("grace_months = 6", "grace_months = 99999999999", "pack"),
        ('window = { kind = "periodic", months = 3 }', 'window = { kind = "periodic", months = 1201 }',
         "requirements[0].window"),
    ],
)
def test_rule_pack_months_are_bounded(
    old: str, new: str, key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pack with a month count beyond 1200 (100 years) is refused when loaded, with one line
    naming the file and the key, in well under a second (no traceback, no unbounded memory)."""
    text = EXAMPLE_PACK.read_text(encoding="utf-8")
    assert old in text
    pack = tmp_path / "big.toml"
    pack.write_text(text.replace(old, new, 1), encoding="utf-8")
    started = time.monotonic()
    assert main(["check", "--demo", "--rules", str(pack)]) == 2
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"peertrain: error: {pack}: {key}")
    assert "at most 1200 months" in err


def test_1200_months_is_accepted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The bound itself is allowed."""
    text = EXAMPLE_PACK.read_text(encoding="utf-8")
    pack = tmp_path / "long.toml"
    pack.write_text(text.replace('months = 3 }', 'months = 1200 }', 1), encoding="utf-8")
    assert main(["rules", "show", str(pack)]) == 0
    capsys.readouterr()


# -- (e) session recurrences ---------------------------------------------------------------------------

SESSIONS = """
[schedule]
id = "t"
name = "T"
timezone = "America/Chicago"

[[sessions]]
id = "s1"
course = "qpr"
start = 2026-03-03T09:00:00
end = 2026-03-03T09:30:00
rrule = "{rrule}"
updated = 2026-01-01T00:00:00Z
{extra}
"""


@pytest.mark.parametrize(
    ("rrule", "extra", "message"),
    [
        ("FREQ=SECONDLY", "cancelled_dates = [2026-12-01]", "FREQ=SECONDLY is not supported"),
        ("FREQ=MINUTELY", "", "FREQ=MINUTELY is not supported"),
        ("FREQ=HOURLY;INTERVAL=1", "", "FREQ=HOURLY is not supported"),
        ("FREQ=DAILY", "cancelled_dates = [2029-12-01]", "more than 1000 occurrences"),
    ],
)
def test_session_recurrences_are_bounded(
    rrule: str, extra: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A sessions TOML whose rule would expand without bound is refused with one line naming the
    file and key, quickly: the same frequencies and occurrence bound as ``import-ics``."""
    path = tmp_path / "sessions.toml"
    path.write_text(SESSIONS.format(rrule=rrule, extra=extra), encoding="utf-8")
    started = time.monotonic()
    assert main(["calendar", "--sessions", str(path), "--feed", "team"]) == 2
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"peertrain: error: {path}: sessions[0].")
    assert message in err


def test_import_ics_and_sessions_share_one_bound() -> None:
    """``import-ics`` uses the sessions' bound and frequencies (not a copy of them)."""
    from peertrain.calendars import sessions
    from peertrain.calendars.ics import _recur as _ics_recur

    assert _ics_recur.MAX_OCCURRENCES is sessions.MAX_OCCURRENCES
    assert _ics_recur._FREQS is sessions.SESSION_FREQS


# -- (f) file names that are not UTF-8 ----------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix" or os.fsencode("é") == "é".encode("latin-1"),
                    reason="needs a UTF-8 file system encoding that keeps undecodable bytes")
def test_import_of_a_file_whose_name_is_not_utf8(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``peertrain import`` of ``b'caf\\xe9.csv'`` imports it and names it ``caf\\xe9.csv``
    (in the summary, the ledger's batches and the rejects); a missing such file is one error line."""
    ledger = tmp_path / "team.db"
    assert main(["ledger", "init", str(ledger), "--timezone", "America/Chicago", "--roster", str(ROSTER)]) == 0
    name = os.fsdecode(b"caf\xe9.csv")
    export = tmp_path / name
    bad_row = "Dana Whitfield,x@y.example,Pine Lake PD,QPR,X,,31.12.2024,Completed,1,\n"
    export.write_text(COPS_CSV.read_text(encoding="utf-8-sig") + bad_row, encoding="utf-8")
    capsys.readouterr()
    status = main(["import", "--profile", "cops-portal-csv", "--ledger", str(ledger), str(export)])
    out, err = capsys.readouterr()
    assert (status, err) == (0, "")
    assert out.startswith("caf\\xe9.csv: batch 1: 17 rows read")
    assert main(["ledger", "batches", "--ledger", str(ledger)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("caf\\xe9.csv")
    assert main(["ledger", "rejects", "--ledger", str(ledger)]) == 0
    assert "caf\\xe9.csv" in capsys.readouterr().out
    missing = tmp_path / os.fsdecode(b"nop\xe9.csv")
    status = main(["import", "--profile", "cops-portal-csv", "--ledger", str(ledger), str(missing)])
    out, err = capsys.readouterr()
    assert status == 2
    assert err == f"peertrain: error: {tmp_path}/nop\\xe9.csv: no such file\n"

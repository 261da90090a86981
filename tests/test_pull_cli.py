"""'peertrain pull' and the sources file: usage errors are one line, secrets are references."""

from __future__ import annotations

import datetime as dt

import pytest

import xapi_statements as xs
from peertrain.cli import main
from peertrain.errors import InputError
from peertrain.pull import load_sources, pull_xapi
from peertrain.rules.loading import curricula_dir, data_dir
from pull_fixtures import PASSWORD, MemoryLRS, catalogue_with_lrs_courses, team_ledger, xapi_source
from pull_server import LocalServer
from test_pull_moodle import TOKEN, MoodleSite

__all__ = ["team_ledger"]  # a fixture

ROSTER = str(curricula_dir() / "demo" / "roster.csv")


def write_sources(tmp_path, text):
    path = tmp_path / "sources.toml"
    path.write_text(text)
    return path


def test_pull_moodle_from_the_command_line(tmp_path, ledger_file, monkeypatch, capsys):
    """A Moodle pull prints one summary with the counts and the cursor; the second finds nothing."""
    monkeypatch.setenv("PEERTRAIN_TEST_COPS_TOKEN", TOKEN)
    with LocalServer(MoodleSite()) as server:
        sources = write_sources(tmp_path, f'[moodle.cops]\nurl = "{server.url}"\n'
                                          'token = "env:PEERTRAIN_TEST_COPS_TOKEN"\ncourses = ["GCI-2025", 102]\n')
        argv = ["pull", "moodle", "--source", "cops", "--ledger", str(ledger_file), "--sources", str(sources)]
        assert main(argv) == 0
        first = capsys.readouterr().out
        assert main(argv) == 0
        second = capsys.readouterr().out
    assert first.startswith(
        "moodle:cops: 6 learner status(es) fetched in 10 request(s): batch 1: 5 rows read = 2 imported "
        "(0 not completed, recorded without credit) + 0 duplicate + 1 rejected + 2 held as unmatched; 1 skipped "
        "(not completed, or pulled before).\n  cursor: {"
    )
    assert second.startswith("moodle:cops: 6 learner status(es) fetched in 10 request(s) since {")
    assert second.rstrip().endswith(": nothing new.")
    assert TOKEN not in first + second


def test_sources_file_from_the_environment_and_unknown_names(tmp_path, ledger_file, monkeypatch, capsys):
    """PEERTRAIN_SOURCES names the file; an unknown source lists the declared ones, in one line."""
    sources = write_sources(tmp_path, '[xapi.a]\nendpoint = "http://127.0.0.1:9/"\nusername = "u"\n'
                                      'password = "env:PEERTRAIN_X"\n')
    monkeypatch.setenv("PEERTRAIN_SOURCES", str(sources))
    assert main(["pull", "xapi", "--source", "b", "--ledger", str(ledger_file)]) == 2
    err = capsys.readouterr().err
    assert err == f"peertrain: error: {sources}: no [xapi.b] source (declared xapi sources: a)\n"
    monkeypatch.delenv("PEERTRAIN_SOURCES")
    monkeypatch.chdir(tmp_path)
    assert main(["pull", "xapi", "--source", "a", "--ledger", str(ledger_file)]) == 2
    assert "peertrain-sources.toml: no such sources file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[xapi.a]\nendpoint = "https://x/"\nusername = "u"\npassword = "hunter2-literal"\n',
         "field 'xapi.a.password': must be a reference 'env:VARIABLE' or 'file:PATH', not the secret itself"),
        ('[xapi.a]\nendpoint = "https://x/"\nusername = "u"\npassword = "env:PEERTRAIN_NOT_SET_ANYWHERE"\n',
         "xapi.a.password: the environment variable PEERTRAIN_NOT_SET_ANYWHERE is not set (or empty)"),
        ('[xapi.a]\nendpoint = "https://x/"\nusername = "u"\npassword = "file:missing"\n',
         "xapi.a.password: cannot read the secret file"),
        ('[xapi.a]\nendpoint = "https://x/"\nusername = "u"\npassword = "env:PEERTRAIN_X"\nretries = -1\n',
         "field 'xapi.a.retries': must be a number > 0, got -1"),
        ('[xapi.a]\nendpoint = "https://x/"\nusername = "u"\npassword = "env:PEERTRAIN_X"\nverb = []\n',
         "field 'xapi.a.verb': unknown key"),
        ('[moodle.a]\nurl = "https://x/"\ntoken = "env:PEERTRAIN_X"\ncourses = []\n',
         "field 'moodle.a.courses': must be a list of Moodle course short names"),
        ('[moodle.a]\nurl = "https://x/"\ntoken = "env:PEERTRAIN_X"\ncourses = [1]\nuser_id = "email"\n',
         "field 'moodle.a.user_id': must be id, idnumber or username"),
        ('[canvas.a]\nurl = "https://x/"\n', "field 'canvas': unknown kind of source"),
        ('[xapi.a]\nendpoint = "lrs.example/xAPI"\nusername = "u"\npassword = "env:PEERTRAIN_X"\n',
         "field 'xapi.a.endpoint': must be an http:// or https:// URL, got 'lrs.example/xAPI'"),
        ('[xapi.a]\nendpoint = "https://u:hunter2-literal@lrs.example/"\nusername = "u"\n'
         'password = "env:PEERTRAIN_X"\n',
         "field 'xapi.a.endpoint': must not carry a user or password"),
    ],
)
def test_bad_sources_are_one_line_errors_without_the_secret(tmp_path, ledger_file, capsys, text, message):
    """Each mistake names the file and key; a literal secret is refused and never echoed."""
    sources = write_sources(tmp_path, text)
    kind = "moodle" if "[moodle" in text else "xapi"
    assert main(["pull", kind, "--source", "a", "--ledger", str(ledger_file), "--sources", str(sources)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
    assert "hunter2-literal" not in err


def test_until_is_for_xapi_only_and_needs_an_offset(tmp_path, ledger_file, capsys):
    """--until takes an ISO time with an offset, and applies to xapi sources."""
    sources = write_sources(tmp_path, '[moodle.a]\nurl = "https://x/"\ntoken = "env:PEERTRAIN_X"\ncourses = [1]\n')
    base = ["pull", "moodle", "--source", "a", "--ledger", str(ledger_file), "--sources", str(sources)]
    with pytest.raises(SystemExit):
        main([*base, "--until", "2026-01-01T00:00:00Z"])
    assert "--until applies to xapi sources only" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--until", "2026-01-01"])
    assert "has no UTC offset" in capsys.readouterr().err


def test_until_limits_the_pull_and_the_cursor(team_ledger):
    """With until, only statements stored up to it are pulled, and the cursor stops there."""
    lrs = MemoryLRS()
    lrs.load(xs.FIRST)
    until = dt.datetime(2026, 11, 20, 8, 0, 3, tzinfo=dt.UTC)
    with LocalServer(lrs) as server:
        result = pull_xapi(team_ledger, xapi_source(server.url), catalogue_with_lrs_courses(), until=until)
    assert server.log[0].query["until"] == "2026-11-20T08:00:03.000000+00:00"
    assert (result.fetched, result.cursor_after) == (2, "2026-11-20T08:00:02.000123+00:00")


def test_progress_is_reported_per_page(team_ledger):
    """The progress callback hears the running count after each page."""
    lrs = MemoryLRS()
    lrs.load(xs.FIRST)
    seen: list[int] = []
    with LocalServer(lrs) as server:
        pull_xapi(team_ledger, xapi_source(server.url), catalogue_with_lrs_courses(), progress=seen.append)
    assert seen == [3, 6, 8]


def test_the_example_sources_file_ships_and_loads(monkeypatch):
    """integrations/sources/example.toml is valid and its secrets are references."""
    sources = load_sources(data_dir() / "integrations" / "sources" / "example.toml")
    assert sorted(sources.xapi) == ["county-lrs"]
    assert sorted(sources.moodle) == ["cops-portal"]
    assert sources.xapi["county-lrs"].password.reference.startswith("env:")
    monkeypatch.delenv("PEERTRAIN_LRS_PASSWORD", raising=False)
    with pytest.raises(InputError, match="PEERTRAIN_LRS_PASSWORD is not set"):
        sources.xapi["county-lrs"].password.value()
    assert PASSWORD not in repr(sources)


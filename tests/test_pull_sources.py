"""A shared sources file cannot read what was not set aside for peertrain, nor send credentials
over plain HTTP: references to other variables and files, and http:// endpoints off loopback, are
refused with one line naming the source and key, before anything is sent."""

from __future__ import annotations

import os
import socket

import pytest

import xapi_statements as xs
from peertrain.cli import main
from peertrain.errors import InputError
from peertrain.pull import Secret, load_sources
from peertrain.rules.loading import curricula_dir
from pull_fixtures import PASSWORD, MemoryLRS
from pull_server import LocalServer, Reply

HOME = "/home/very-private-home-value"


@pytest.fixture
def ledger_file(tmp_path, capsys):
    path = tmp_path / "team.db"
    roster = str(curricula_dir() / "demo" / "roster.csv")
    assert main(["ledger", "init", str(path), "--timezone", "America/Chicago", "--roster", roster]) == 0
    capsys.readouterr()
    return path


@pytest.fixture
def folder(tmp_path):
    """The folder of the sources file (a subfolder, so that there is something outside it)."""
    path = tmp_path / "config"
    path.mkdir()
    return path


@pytest.fixture
def listener():
    """A loopback server standing for the sources file author's endpoint: it must hear nothing."""
    with LocalServer(lambda _r: Reply(json={"statements": []})) as server:
        yield server


def pull(folder, ledger_file, capsys, endpoint, password):
    """Run 'peertrain pull xapi' with a sources file in ``folder``: (exit status, stderr)."""
    sources = folder / "sources.toml"
    sources.write_text(f'[xapi.shared]\nendpoint = "{endpoint}"\nusername = "peertrain"\npassword = "{password}"\n')
    code = main(["pull", "xapi", "--source", "shared", "--ledger", str(ledger_file), "--sources", str(sources)])
    captured = capsys.readouterr()
    assert captured.out == "" or code == 0
    return code, captured.err


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("env:HOME", "'env:' may name only an environment variable whose name starts with PEERTRAIN_"),
        ("env:peertrain_lower", "'env:' may name only an environment variable whose name starts with PEERTRAIN_"),
        ("env:PEERTRAIN_", "'env:' may name only"),
        ("file:../../../../etc/hostname", "'file:' must not climb out of the sources file's folder"),
        ("file:secrets/../../outside", "'file:' must not climb out"),
        ("file:/etc/hostname", "'file:' must be a path relative to the sources file's folder"),
        ("file:~/.ssh/id_rsa", "'file:' must be a path relative"),
        ("file:C:\\\\Windows\\\\win.ini", "'file:' must be a path relative"),
    ],
)
def test_references_outside_what_is_set_aside_are_refused_at_load(
    folder, ledger_file, capsys, listener, monkeypatch, reference, message
):
    """Other variables, absolute paths and '..' are refused when the file is read: status 2, one
    line naming the file and key, the value never shown, the endpoint never contacted."""
    monkeypatch.setenv("HOME", HOME)
    code, err = pull(folder, ledger_file, capsys, listener.url + "/xAPI/", reference)
    assert code == 2
    assert err.count("\n") == 1
    assert f"{folder / 'sources.toml'}, field 'xapi.shared.password': " in err
    assert message in err
    assert HOME not in err
    assert listener.log == []


def secret_file(folder, name="lrs-password", mode=0o600, text=PASSWORD + "\n"):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def test_a_private_secret_file_in_the_folder_is_read(folder, ledger_file, capsys):
    """A file of the folder (or below it), owned by the user and chmod 600, works."""
    secret_file(folder, "secrets/lrs-password")
    lrs = MemoryLRS()
    lrs.load(xs.FIRST)
    with LocalServer(lrs) as server:
        code, err = pull(folder, ledger_file, capsys, server.url + "/xAPI/", "file:secrets/lrs-password")
    assert (code, err) == (0, "")
    assert len(server.log) == 1


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_a_secret_file_others_can_read_or_change_is_refused(folder, ledger_file, capsys, listener, mode):
    """Group or other permissions on the secret file: refused, saying which file and how to fix it."""
    path = secret_file(folder, mode=mode)
    code, err = pull(folder, ledger_file, capsys, listener.url + "/xAPI/", "file:lrs-password")
    assert code == 2
    assert err.count("\n") == 1
    assert f"the secret file {path} can be read or changed by others (mode {mode:04o}); run: chmod 600 {path}" in err
    assert PASSWORD not in err
    assert listener.log == []


def test_a_symbolic_link_out_of_the_folder_is_refused(folder, ledger_file, capsys, listener):
    """A link in the folder to a file outside it is refused, even when that file is private."""
    outside = secret_file(folder.parent, "elsewhere")
    (folder / "lrs-password").symlink_to(outside)
    code, err = pull(folder, ledger_file, capsys, listener.url + "/xAPI/", "file:lrs-password")
    assert code == 2
    assert "leads outside" in err
    assert PASSWORD not in err
    assert listener.log == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="changing a file's owner needs root")
def test_a_secret_file_owned_by_someone_else_is_refused(folder, ledger_file, capsys, listener):
    """A private file that belongs to another user is not ours to send."""
    path = secret_file(folder)
    os.chown(path, 65534, 65534)
    code, err = pull(folder, ledger_file, capsys, listener.url + "/xAPI/", "file:lrs-password")
    assert code == 2
    assert f"the secret file {path} is owned by another user" in err
    assert listener.log == []


def test_a_secret_that_is_not_a_regular_file_is_refused(folder):
    """A folder (or a pipe, a device) is not read."""
    (folder / "secrets").mkdir()
    secret = Secret("file:secrets", folder, "sources.toml: xapi.a.password")
    with pytest.raises(InputError, match="is not a regular file"):
        secret.value()


def test_secrets_built_in_python_obey_the_same_rules(folder, monkeypatch):
    """The checks are in Secret.value too, not only in the sources file reader."""
    monkeypatch.setenv("HOME", HOME)
    for reference in ("env:HOME", "file:/etc/hostname", "file:../x"):
        with pytest.raises(InputError) as caught:
            Secret(reference, folder, "here").value()
        assert HOME not in str(caught.value)
    monkeypatch.setenv("PEERTRAIN_LRS_PASSWORD", PASSWORD)
    assert Secret("env:PEERTRAIN_LRS_PASSWORD").value() == PASSWORD


@pytest.mark.parametrize("endpoint", ["http://lrs.example.org/xAPI/", "http://10.1.2.3:8080/", "HTTP://LRS.example/"])
def test_plain_http_off_loopback_is_refused_at_load(folder, ledger_file, capsys, monkeypatch, endpoint):
    """http:// to a host that is not loopback: refused when the file is read, before any name
    lookup or connection."""

    def no_network(*_args, **_kwargs):
        raise AssertionError("no network traffic was expected")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setenv("PEERTRAIN_LRS_PASSWORD", PASSWORD)
    code, err = pull(folder, ledger_file, capsys, endpoint, "env:PEERTRAIN_LRS_PASSWORD")
    assert code == 2
    assert err.count("\n") == 1
    assert "field 'xapi.shared.endpoint': sends credentials over plain http://" in err
    assert "use https://" in err


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:9/", "http://127.1.2.3/", "http://[::1]:8080/", "http://localhost/", "https://x.example/"]
)
def test_loopback_and_https_endpoints_load(tmp_path, url):
    """Loopback hosts may use plain http (nothing crosses a network); https is always fine."""
    path = tmp_path / "sources.toml"
    path.write_text(f'[moodle.m]\nurl = "{url}"\ntoken = "env:PEERTRAIN_T"\ncourses = [1]\n')
    assert load_sources(path).moodle["m"].url == url


@pytest.mark.parametrize(("value", "kind"), [("31415926535", "an integer"), ("3.14159", "a number"),
                                             ("true", "a boolean"), ('["hunter2-in-a-list"]', "a list"),
                                             ("{ x = 'hunter2-in-a-table' }", "a table"),
                                             ("1979-05-27", "a date or time")])
def test_a_secret_of_the_wrong_type_is_not_echoed(tmp_path, value, kind):
    """'password = 31415926535': the message gives the type, never the value."""
    path = tmp_path / "sources.toml"
    path.write_text(f'[xapi.a]\nendpoint = "https://x.example/"\nusername = "u"\npassword = {value}\n')
    with pytest.raises(InputError) as caught:
        load_sources(path)
    assert str(caught.value).endswith(f"field 'xapi.a.password': must be text, got {kind}")
    for part in ("31415926535", "3.14159", "true", "hunter2", "1979"):
        assert part not in str(caught.value).rsplit(": ", 1)[1]


def test_an_endpoint_with_an_invalid_port_is_refused_at_load(tmp_path):
    """An origin that cannot be read (a port out of range) is refused when the file is read."""
    path = tmp_path / "sources.toml"
    path.write_text('[xapi.a]\nendpoint = "https://lrs.example:99999/"\nusername = "u"\npassword = "env:PEERTRAIN_X"\n')
    with pytest.raises(InputError, match=r"field 'xapi\.a\.endpoint': must be an http:// or https:// URL"):
        load_sources(path)

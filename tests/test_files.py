"""Files peertrain writes stay private and cannot be hijacked (security issue, items 6 and 7).

Every output goes through :mod:`peertrain._files`: a new 0600 temporary file in the target's
folder, replaced onto the target only when complete. A symbolic link planted at the target is
replaced, never followed; a file already there (even world-writable) is replaced by a new 0600
file; nothing is left behind on success or failure. The ledger (and SQLite's ``-wal`` and
``-shm`` files) is created 0600 whatever the umask.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from peertrain._files import atomic_write, create_private, shown, write_bytes, write_text
from peertrain.cli import main
from peertrain.errors import InputError
from peertrain.rules.loading import curricula_dir, data_dir

pytestmark = pytest.mark.skipif(os.name != "posix", reason="file modes and symbolic links are POSIX")

ROSTER = curricula_dir() / "demo" / "roster.csv"
COPS_CSV = data_dir() / "integrations" / "samples" / "cops-portal-transcript.csv"
ICS = Path(__file__).parent / "data" / "ics" / "google-export.ics"
HEADER = (
    "Learner Name,Email,Agency,Course Title,Course ID,Enrollment Date,Completion Date,Status,"
    "Credit Hours,Certificate Number\r\n"
)


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    """Run the block under ``mask`` (restored after)."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    """The permission bits of ``path`` (not following a link)."""
    return stat.S_IMODE(path.lstat().st_mode)


def make_ledger(folder: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """A ledger with the demo roster and one batch with a rejected row."""
    ledger = folder / "team.db"
    assert main(["ledger", "init", str(ledger), "--timezone", "America/Chicago", "--roster", str(ROSTER)]) == 0
    bad = folder / "bad.csv"
    bad.write_text(HEADER + "Dana Whitfield,x@y.example,Pine Lake PD,QPR,X,,31.12.2024,Completed,1,\r\n",
                   encoding="utf-8", newline="")
    assert main(["import", "--profile", "cops-portal-csv", "--ledger", str(ledger), str(bad)]) == 0
    capsys.readouterr()
    return ledger


#: Each command that writes a file: (name, argv given the folder, the ledger and the output path).
WRITERS: dict[str, Callable[[Path, Path, Path], list[str]]] = {
    "check -o": lambda _d, _l, o: ["check", "--demo", "-o", str(o)],
    "check --ledger -o": lambda _d, led, o: [
        "check", "--ledger", str(led), "--rules", "example-agency", "--as-of", "2026-11-15", "-o", str(o)],
    "report -o": lambda _d, _l, o: ["report", "--demo", "--format", "html", "-o", str(o)],
    "calendar -o": lambda _d, _l, o: ["calendar", "--demo", "--feed", "team", "-o", str(o)],
    "sessions import-ics -o": lambda _d, _l, o: [
        "sessions", "import-ics", str(ICS), "--provider", "Lakes Region CISM", "-o", str(o)],
    "ledger rejects -o": lambda _d, led, o: ["ledger", "rejects", "--ledger", str(led), "-o", str(o)],
    "import --rejects": lambda d, led, o: [
        "import", "--profile", "cops-portal-csv", "--ledger", str(led), "--rejects", str(o), str(d / "bad2.csv")],
}


def run_writer(name: str, folder: Path, ledger: Path, output: Path) -> int:
    if name == "import --rejects":
        (folder / "bad2.csv").write_text(
            HEADER + "Dana Whitfield,x@y.example,Pine Lake PD,QPR,X,,31.12.2023,Completed,1,\r\n",
            encoding="utf-8", newline="",
        )
    return main(WRITERS[name](folder, ledger, output))


def listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_every_output_replaces_a_planted_symlink_without_following_it(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A symbolic link another user planted at the output path is replaced by a regular 0600
    file; the file it pointed to is unchanged; no temporary file is left in the folder."""
    ledger = make_ledger(tmp_path, capsys)
    shared = tmp_path / "shared"
    shared.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("do not touch\n", encoding="utf-8")
    output = shared / "out.file"
    output.symlink_to(victim)
    with umask(0o022):
        status = run_writer(name, tmp_path, ledger, output)
    capsys.readouterr()
    assert status in (0, 1)
    assert not output.is_symlink()
    assert output.is_file()
    assert mode(output) == 0o600
    assert output.stat().st_size > 0
    assert victim.read_text(encoding="utf-8") == "do not touch\n"
    assert listing(shared) == {"out.file"}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_every_output_replaces_a_world_writable_file_with_a_private_one(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A pre-created 0666 file at the output path is replaced by a new 0600 file (a new inode:
    whoever held the old one open does not see the new content)."""
    ledger = make_ledger(tmp_path, capsys)
    output = tmp_path / "out.file"
    output.write_text("planted\n", encoding="utf-8")
    output.chmod(0o666)
    old_inode = output.stat().st_ino
    with umask(0o022):
        status = run_writer(name, tmp_path, ledger, output)
    capsys.readouterr()
    assert status in (0, 1)
    assert mode(output) == 0o600
    assert output.stat().st_ino != old_inode
    assert output.read_bytes() != b"planted\n"
    assert not [n for n in listing(tmp_path) if n.startswith(".")]


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_failed_write_leaves_no_temporary_file(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """When the output cannot be put in place (here: a folder is in the way), the command ends
    with one error line naming the output (after the data's warnings), status 2, and no temporary
    file is left."""
    ledger = make_ledger(tmp_path, capsys)
    output = tmp_path / "out.file"
    output.mkdir()
    before = listing(tmp_path) | {"bad2.csv"}
    status = run_writer(name, tmp_path, ledger, output)
    err = capsys.readouterr().err
    assert status == 2
    errors = [line for line in err.splitlines() if not line.startswith("peertrain: warning: ")]
    assert len(errors) == 1
    assert errors[0].startswith(f"peertrain: error: {output}: cannot be written: ")
    assert listing(tmp_path) <= before
    assert list(output.iterdir()) == []


def test_atomic_write_keeps_the_target_when_the_writer_fails(tmp_path: Path) -> None:
    """An exception while writing leaves the old content in place and removes the temporary file."""
    target = tmp_path / "report.html"
    target.write_text("old", encoding="utf-8")

    def fail_half_way() -> None:
        with atomic_write(target) as handle:
            handle.write("half of the new")
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        fail_half_way()
    assert target.read_text(encoding="utf-8") == "old"
    assert listing(tmp_path) == {"report.html"}


def test_atomic_write_text_and_bytes_are_private_and_exact(tmp_path: Path) -> None:
    """Text is written with its line ends as given (and the encoding asked for); bytes as they are;
    both 0600 under umask 022."""
    with umask(0o022):
        write_text(tmp_path / "a.csv", "x\r\ny\n", encoding="utf-8-sig")
        write_bytes(tmp_path / "b.ics", b"BEGIN:VCALENDAR\r\n")
    assert (tmp_path / "a.csv").read_bytes() == b"\xef\xbb\xbfx\r\ny\n"
    assert (tmp_path / "b.ics").read_bytes() == b"BEGIN:VCALENDAR\r\n"
    assert mode(tmp_path / "a.csv") == mode(tmp_path / "b.ics") == 0o600


def test_atomic_write_into_a_missing_folder_is_an_input_error(tmp_path: Path) -> None:
    """A folder that does not exist is a typed error naming the file."""
    target = tmp_path / "nowhere" / "out.csv"
    with pytest.raises(InputError, match=r"out\.csv: cannot be written: "):
        write_text(target, "x")


def test_the_ledger_and_its_wal_and_shm_are_private_under_umask_022(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``ledger init`` creates the SQLite file 0600; SQLite gives its -wal and -shm files the same
    mode (checked while another connection keeps them open)."""
    ledger = tmp_path / "team.db"
    with umask(0o022):
        assert main(["ledger", "init", str(ledger), "--timezone", "America/Chicago", "--roster", str(ROSTER)]) == 0
        capsys.readouterr()
        assert mode(ledger) == 0o600
        reader = sqlite3.connect(ledger)
        try:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM sqlite_master").fetchone()
            assert main(["import", "--profile", "cops-portal-csv", "--ledger", str(ledger), str(COPS_CSV)]) == 0
            wal, shm = Path(f"{ledger}-wal"), Path(f"{ledger}-shm")
            assert wal.exists()
            assert shm.exists()
            assert mode(wal) == mode(shm) == 0o600
        finally:
            reader.close()
    capsys.readouterr()


def test_ledger_init_refuses_a_planted_symlink(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A dangling symbolic link at the ledger path is not followed to create a file elsewhere."""
    ledger = tmp_path / "team.db"
    elsewhere = tmp_path / "elsewhere.db"
    ledger.symlink_to(elsewhere)
    status = main(["ledger", "init", str(ledger), "--timezone", "America/Chicago"])
    err = capsys.readouterr().err
    assert status == 2
    assert err == f"peertrain: error: {ledger}: already exists; not overwriting it\n"
    assert not elsewhere.exists()


def test_create_private_is_exclusive(tmp_path: Path) -> None:
    """``create_private`` makes a 0600 file even under umask 0 and never opens an existing one."""
    path = tmp_path / "x.db"
    with umask(0):
        create_private(path)
    assert mode(path) == 0o600
    with pytest.raises(FileExistsError):
        create_private(path)


def test_shown_makes_any_file_name_printable() -> None:
    """A name with bytes that are not UTF-8 is shown with backslash escapes (and can be encoded)."""
    name = os.fsdecode(b"caf\xe9.csv")
    assert shown(name) == "caf\\xe9.csv"
    assert shown(Path("/tmp") / name) == "/tmp/caf\\xe9.csv"
    assert shown("café.csv") == "café.csv"

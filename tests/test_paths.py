"""Every public function that takes a file path accepts ``str`` and any ``os.PathLike``, as
``open()`` does, and the README's Python example runs as written with plain strings."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import pkgutil
from pathlib import Path, PurePath

import pytest

import peertrain
from peertrain import check_compliance, load_bundled_catalogue, load_pack, read_completions, read_roster
from peertrain.rules.loading import curricula_dir


class OtherPath:
    """An ``os.PathLike`` that is not a ``pathlib.Path``."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return str(self.path)


def public_modules() -> list[str]:
    """Every module of the library but the command line's."""
    names = ["peertrain"]
    for info in pkgutil.walk_packages(peertrain.__path__, "peertrain."):
        if "._" in info.name or ".cli" in info.name or info.name.endswith("__main__"):
            continue
        names.append(info.name)
    return names


def path_parameters() -> list[tuple[str, str, str]]:
    """(function, parameter, annotation) of every public function or method whose parameter is
    annotated with a path type."""
    found = []
    for module_name in public_modules():
        module = importlib.import_module(module_name)
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module_name:
                continue
            functions = [obj] if inspect.isfunction(obj) else []
            if inspect.isclass(obj):
                functions = [f for n, f in vars(obj).items() if inspect.isfunction(f) and not n.startswith("_")]
                functions += [f.__func__ for f in vars(obj).values() if isinstance(f, classmethod | staticmethod)]
            for function in functions:
                for parameter in inspect.signature(function).parameters.values():
                    text = str(parameter.annotation)
                    if "Path" in text:
                        found.append((f"{module_name}.{function.__qualname__}", parameter.name, text))
    return found


def test_path_parameters_accept_str_and_pathlike() -> None:
    """No public function asks for a ``pathlib.Path`` only: each path parameter is ``StrPath``
    (``str | os.PathLike[str]``) or admits ``str`` some other way."""
    found = path_parameters()
    assert len(found) >= 10  # the check sees the API (read_roster, open_ledger, import_file, ...)
    narrow = [f for f in found if "StrPath" not in f[2] and "str" not in f[2]]
    assert narrow == []


def test_readme_python_example_with_plain_strings() -> None:
    """The README's example, with the paths as the strings a newcomer types."""
    path_to_roster = str(curricula_dir() / "demo" / "roster.csv")
    path_to_completions = str(curricula_dir() / "demo" / "completions.csv")
    catalogue = load_bundled_catalogue()
    packs = [load_pack("mn-181-9731", catalogue)]
    members = read_roster(path_to_roster)
    completions = read_completions(path_to_completions, catalogue, members)
    result = check_compliance(members, completions, packs, dt.date(2026, 11, 15), catalogue=catalogue)
    for verdict in result.verdicts:
        print(verdict.member, verdict.key, verdict.status, verdict.explanation)
    as_paths = read_completions(Path(path_to_completions), catalogue, read_roster(Path(path_to_roster)))
    assert completions == as_paths
    expected = check_compliance(members, as_paths, packs, dt.date(2026, 11, 15), catalogue=catalogue)
    assert result == expected
    assert len(result.verdicts) == 10


@pytest.mark.parametrize("kind", [str, Path, OtherPath], ids=["str", "Path", "PathLike"])
def test_file_reading_functions_take_any_path(kind: type, tmp_path: Path) -> None:
    """The readers, the loaders, the ledger and the importer give the same answer for a path given
    as ``str``, ``Path`` or another ``os.PathLike``."""
    from peertrain.calendars.schedule import load_schedule
    from peertrain.imports.importer import import_file
    from peertrain.imports.profiles import load_profile
    from peertrain.imports.tables import read_waivers
    from peertrain.ledger import open_ledger
    from peertrain.rules.loading import data_dir, load_catalogue

    def p(path: Path) -> object:
        return kind(path) if kind is not str else str(path)

    demo = curricula_dir() / "demo"
    catalogue = load_bundled_catalogue()
    assert len(load_catalogue([p(curricula_dir() / "courses.toml")])) == len(catalogue)
    members = read_roster(p(demo / "roster.csv"))
    assert len(read_completions(p(demo / "completions.csv"), catalogue, members)) > 0
    assert len(read_waivers(p(demo / "exemptions.csv"), members)) > 0
    assert load_pack(p(curricula_dir() / "packs" / "ut-post.toml"), catalogue).id == "ut-post"
    assert load_schedule(p(demo / "sessions.toml"), catalogue).sessions
    profile = load_profile(p(data_dir() / "integrations" / "profiles" / "cops-portal-csv.toml"))
    ledger = open_ledger(p(tmp_path / "team.db"), create_timezone="America/Chicago")
    try:
        ledger.put_members(members)
        sample = data_dir() / "integrations" / "samples" / "cops-portal-transcript.csv"
        result = import_file(ledger, profile, p(sample), catalogue)
        assert result.batch.counts.rows_read == 16
        assert isinstance(result.file, PurePath)
    finally:
        ledger.close()

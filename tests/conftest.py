"""Shared fixtures and Hypothesis profiles for the peertrain tests.

Hypothesis profiles (choose with the ``HYPOTHESIS_PROFILE`` environment variable):

- ``dev`` (the default): 50 examples per property, for quick local runs;
- ``ci``: 300 examples per property, for the thorough CI run;
- ``default``: Hypothesis's own number of examples.

None of them has a deadline: the readers touch the file system, whose speed varies.

Tests run against the installed package: bundled data is found through
:func:`peertrain.rules.loading.curricula_dir`, fixture files through :data:`DATA`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from peertrain import Catalogue, load_bundled_catalogue

settings.register_profile("default", deadline=None)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("ci", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# With --import-mode=importlib the tests folder is not on sys.path; the test modules import the
# shared Hypothesis strategies as ``strategies``. (Only tests/ is added: the code under test is
# always the installed package.)
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

#: The folder of fixture files, addressed by name (``DATA / "tables" / "roster-cp1252.csv"``).
DATA = Path(__file__).parent / "data"

from local_servers import not_installed  # noqa: E402 - tests/ is on sys.path only from here
from pg_server import Cluster, server_bin  # noqa: E402

#: The ledger backends every ledger-using test runs against (the ``backend`` fixture's values).
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster for the session (:mod:`pg_server`), started when a test first
    needs one. Not installed: skipped locally, a failure under ``CI``."""
    bin_dir = server_bin()
    if bin_dir is None:
        not_installed("PostgreSQL's server is not installed (set PEERTRAIN_PG_BIN)", "PostgreSQL ledger")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        not_installed("psycopg is not installed (pip install 'peertrain[postgresql]')", "PostgreSQL ledger")
    cluster = Cluster(bin_dir)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The ledger backend of this run of the test: ``sqlite`` or ``postgresql``."""
    return str(request.param)


@pytest.fixture
def new_location(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Callable[..., Path | str]:
    """Make the location of a new, empty ledger of the test's backend: a file in ``tmp_path``
    (``new_location("name.db")``), or the URL of a new, empty database of the session's cluster."""
    return ledger_maker(backend, request, tmp_path)


def ledger_maker(backend: str, request: pytest.FixtureRequest, folder: Path) -> Callable[..., Path | str]:
    """:func:`new_location` for a backend given by a test's own parameter."""

    def make(name: str = "ledger.db") -> Path | str:
        if backend == "sqlite":
            return folder / name
        cluster: Cluster = request.getfixturevalue("pg_cluster")
        return cluster.url(cluster.create_database())

    return make


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The tests' fixture folder."""
    return DATA


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    """The bundled course catalogue (loaded once; it is immutable)."""
    return load_bundled_catalogue()


@pytest.fixture
def ledger_file(new_location: Callable[..., Path | str], capsys: pytest.CaptureFixture[str]) -> Path | str:
    """A ledger made by ``peertrain ledger init`` in America/Chicago with the demo roster (the
    command's output is consumed): a file, or a PostgreSQL database's URL (the ``backend``
    fixture)."""
    from peertrain.cli import main
    from peertrain.rules.loading import curricula_dir

    path = new_location("team.db")
    roster = curricula_dir() / "demo" / "roster.csv"
    assert main(["ledger", "init", str(path), "--timezone", "America/Chicago", "--roster", str(roster)]) == 0
    capsys.readouterr()
    return path


@pytest.fixture
def write(tmp_path: Path) -> Callable[..., Path]:
    """Write text (or bytes) to a file in ``tmp_path`` and return its path.

    ``write("roster.csv", "member_id,name\\n...")`` writes UTF-8 with ``\\n`` line ends as given.
    """

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = content if isinstance(content, bytes) else content.encode(encoding)
        path.write_bytes(data)
        return path

    return _write

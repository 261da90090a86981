"""A consortium on the tests' PostgreSQL cluster: a ledger database owned by an ordinary role (its
administrator), and login roles for agency coordinators and the consortium, none of them a
superuser (a superuser would bypass row-level security and prove nothing).

Every role's password is one random secret in the environment variable :data:`PASSWORD_VARIABLE`,
which the roles' URLs name (``password=env:...``): never a literal in a URL.
"""

from __future__ import annotations

import csv
import itertools
import os
import secrets
from pathlib import Path

from peertrain.ledger import open_ledger
from peertrain.rules.loading import curricula_dir
from pg_server import Cluster

#: The environment variable holding every test role's password.
PASSWORD_VARIABLE = "PEERTRAIN_TEST_ROLE_PASSWORD"
ROSTER = curricula_dir() / "demo" / "roster.csv"
#: The demo roster's agencies (its 'agency' column) as consortium agency ids.
DEMO_AGENCIES = {"Pine Lake PD": "pinelake", "Cedar County SO": "cedar"}
_NUMBERS = itertools.count(1)


class Consortium:
    """One ledger database and its roles. ``role(name)`` is the database role of ``name``
    (``admin``, an agency coordinator, ``state``); ``url(name)`` connects as it."""

    def __init__(self, cluster: Cluster, names: tuple[str, ...]) -> None:
        self.cluster = cluster
        number = next(_NUMBERS)
        self.suffix = f"{os.getpid()}_{number}"
        os.environ.setdefault(PASSWORD_VARIABLE, secrets.token_urlsafe(16))
        password = os.environ[PASSWORD_VARIABLE]
        self.names = ("admin", *names)
        for name in self.names:
            self.add_role(name, password)
        self.database = cluster.create_database()
        cluster.admin(f'ALTER DATABASE "{self.database}" OWNER TO "{self.role("admin")}"')

    def add_role(self, name: str, password: str) -> None:
        """Create the login role of ``name``."""
        self.cluster.admin(
            f'CREATE ROLE "{self.role(name)}" LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE '
            f"PASSWORD '{password}'"
        )

    def role(self, name: str) -> str:
        return f"{name}_{self.suffix}"

    def url(self, name: str) -> str:
        return (
            f"postgresql://{self.role(name)}@127.0.0.1:{self.cluster.port}/{self.database}"
            f"?password=env:{PASSWORD_VARIABLE}"
        )

    def create(self, first: str, others: tuple[str, ...], *, consortium: tuple[str, ...] = ("state",)) -> None:
        """``ledger init --agency first`` as the administrator; add ``others``; grant each agency's
        coordinator role (named as the agency) and the consortium roles."""
        with open_ledger(self.url("admin"), create_timezone="America/Chicago") as ledger:
            ledger.name_agency(first, first.title())
            for agency in others:
                ledger.add_agency(agency, agency.title())
            for agency in (first, *others):
                ledger.grant(self.role(agency), agency)
            for name in consortium:
                ledger.grant(self.role(name), None)


def roster_of(agency: str, folder: Path) -> Path:
    """The demo roster's rows of one agency (by its name in the roster), as a roster file."""
    with ROSTER.open(encoding="utf-8", newline="") as source:
        rows = list(csv.reader(source))
    path = folder / f"roster-{DEMO_AGENCIES[agency]}.csv"
    with path.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows([rows[0], *(r for r in rows[1:] if r[2] == agency)])
    return path

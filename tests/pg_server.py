"""A throwaway PostgreSQL cluster for the tests: ``initdb`` into a temporary folder, ``postgres``
on a free loopback port (and a socket in that folder), stopped and removed at the end.

The server binaries are found through ``PEERTRAIN_PG_BIN`` (``.ci/run`` sets it), else the newest
``/usr/lib/postgresql/*/bin``, else ``pg_ctl`` on ``PATH``. PostgreSQL refuses to run as root, so as
root the cluster runs as the ``postgres`` user (Debian's package makes it), with its folder owned by
that user. Connections over TCP need the superuser's password (SCRAM): the tests reach it through
an ``env:`` reference, never a literal in a URL.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from local_servers import free_port

#: The environment variable the tests' URLs name for the superuser's password.
PASSWORD_VARIABLE = "PEERTRAIN_TEST_PG_PASSWORD"


def server_bin() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl``, or ``None`` when PostgreSQL is not installed."""
    given = os.environ.get("PEERTRAIN_PG_BIN")
    if given:
        return Path(given) if (Path(given) / "initdb").exists() else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl and (Path(pg_ctl).parent / "initdb").exists() else None


class Cluster:
    """One running cluster; :meth:`create_database` gives each test a database of its own."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="peertrain-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.password = secrets.token_urlsafe(16)
        self.user = "postgres"
        self._as: list[str] = []
        if os.geteuid() == 0:
            self._as = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres")
        self._count = 0

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as, *command], check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self._as:
            shutil.chown(pwfile, "postgres")
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user, "--pwfile", str(pwfile),
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
        )
        pwfile.unlink()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} -c unix_socket_directories={self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"), "-o", options,
            "-w", "-t", "60", "start",
        )
        os.environ[PASSWORD_VARIABLE] = self.password

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def admin(self, sql: str) -> None:
        """Run one statement as the superuser over the socket (outside a transaction)."""
        import psycopg

        with psycopg.connect(host=str(self.root), port=self.port, user=self.user, dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(sql)

    def url(self, database: str, password: bool = True) -> str:
        """A URL of ``database`` over TCP, its password an ``env:`` reference."""
        tail = f"?password=env:{PASSWORD_VARIABLE}" if password else ""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}{tail}"

    def create_database(self) -> str:
        """A new, empty database; its name."""
        self._count += 1
        name = f"t{self._count}_{int(time.time() * 1000) % 100000}"
        self.admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name

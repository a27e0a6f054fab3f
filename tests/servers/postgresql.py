"""PostgreSQL for the tests: a cluster of its own (`initdb`) in a temporary folder,
listening on a free port of 127.0.0.1 only (no unix socket), trust authentication.

The binaries are Debian's, from the newest /usr/lib/postgresql/VERSION/bin. PostgreSQL
refuses to run as root, so when the tests run as root the cluster belongs to the
unprivileged `postgres` user (the package creates it) and lives under /tmp, where that
user can reach it; otherwise it runs as the user running the tests. fsync stays on:
a row whose commit was acknowledged survives `kill()` (SIGKILL) and `start()`.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from tests.servers.processes import HOST, ServerProcess, require_binary

POSTGRESQL_ROOT = Path("/usr/lib/postgresql")
#: the OS user that runs the cluster when the tests run as root
OS_USER = "postgres"
#: the cluster's superuser, whatever the OS user
SUPERUSER = "postgres"


def newest_bin_folder() -> Path:
    """/usr/lib/postgresql/VERSION/bin of the newest VERSION installed (skips the test
    when there is none)."""

    def version(folder: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in folder.parent.name.split(".") if part.isdigit())

    found = [folder for folder in POSTGRESQL_ROOT.glob("*/bin") if (folder / "postgres").exists()]
    if not found:
        require_binary(str(POSTGRESQL_ROOT / "VERSION" / "bin" / "postgres"), "postgresql")
    return max(found, key=version)


class PostgresServer(ServerProcess):
    #: fast shutdown: connections left open do not hold it up
    stop_signal = signal.SIGINT

    def __init__(self, folder: Path | None = None, port: int | None = None) -> None:
        self.bin = newest_bin_folder()
        self.os_user = OS_USER if os.geteuid() == 0 else None
        if folder is None:
            # the postgres user must reach the folder: /tmp, not a TMPDIR of root's
            parent = "/tmp" if self.os_user else None
            folder = Path(tempfile.mkdtemp(prefix="pocket-postgres-", dir=parent))
        if self.os_user:
            account = pwd.getpwnam(self.os_user)
            os.chown(folder, account.pw_uid, account.pw_gid)
        super().__init__("postgresql", folder, port)
        self.data = folder / "data"

    @property
    def url(self) -> str:
        """The cluster's own `postgres` database, as its superuser."""
        return self.url_for(SUPERUSER)

    def url_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def initdb(self) -> None:
        """Create the cluster in `data` (trust authentication, UTF-8, C locale)."""
        command = [
            str(self.bin / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            SUPERUSER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--no-locale",
            "--no-instructions",
            # the files of a fresh cluster reach the disk with the OS, not one by one;
            # the server itself keeps fsync on
            "--no-sync",
        ]
        with open(self.log_path, "ab") as log:
            done = subprocess.run(
                command,
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                **self.popen_options(),
            )
        if done.returncode != 0:
            raise AssertionError(f"initdb exited with {done.returncode}:\n{self.log()}")

    def command(self) -> list[str]:
        return [
            str(self.bin / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-c",
            f"listen_addresses={HOST}",
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=32MB",
            # after a crash, one syncfs() instead of an fsync() of each file of the
            # cluster before recovery: 0.3 s instead of 2 s to start again after kill()
            "-c",
            "recovery_init_sync_method=syncfs",
        ]

    def popen_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"env": {**os.environ, "LC_ALL": "C"}}
        if self.os_user:
            options.update(user=self.os_user, group=self.os_user, extra_groups=[])
        return options

    def ready(self) -> bool:
        """This postmaster wrote its PID file and says it accepts connections (what
        `pg_ctl start --wait` looks at; a killed one leaves its file behind)."""
        try:
            lines = (self.data / "postmaster.pid").read_text().splitlines()
        except OSError:
            return False
        return len(lines) >= 8 and lines[0] == str(self.pid) and lines[7].strip() == "ready"

    def create_database(self, name: str) -> str:
        """A new, empty database; returns its URL."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop the database, closing whatever connections to it are still open."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def remove(self) -> None:
        """Kill the server and delete its folder (no shutdown checkpoint for a cluster
        about to be deleted: it saves a second)."""
        self.kill()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def running_postgres(folder: Path | None = None) -> Iterator[PostgresServer]:
    """A new cluster, started; killed and deleted afterwards."""
    server = PostgresServer(folder)
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        server.remove()

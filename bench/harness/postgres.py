"""A throwaway PostgreSQL cluster in a folder of its own, on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from .procs import SERVER_CPU, free_port, pinned


def _pg_bin() -> Path:
    """Debian's newest PostgreSQL server binaries."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
    )
    if not found:
        raise SystemExit("PostgreSQL is missing: apt-get install -y postgresql")
    return found[-1].parent


def start_postgres(folder: Path) -> tuple[int, str]:
    """initdb and start a cluster as the postgres OS user, pinned to the server core,
    with fsync and synchronous_commit on as in production; (postmaster pid, conninfo)."""
    data, as_pg, port = folder / "data", ["runuser", "-u", "postgres", "--"], free_port()
    pg_bin = _pg_bin()
    folder.mkdir()
    shutil.chown(folder, "postgres", "postgres")
    initdb = [*as_pg, str(pg_bin / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
    subprocess.run(initdb, check=True, stdout=subprocess.DEVNULL)
    opts = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={folder}"
    opts += " -c fsync=on -c synchronous_commit=on -c max_connections=200"
    pg_ctl = [*as_pg, str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(folder / "log")]
    start = pinned([*pg_ctl, "-w", "-o", opts, "start"], SERVER_CPU)
    subprocess.run(start, check=True, stdout=subprocess.DEVNULL)
    pid = int((data / "postmaster.pid").read_text().split()[0])
    return pid, f"host=127.0.0.1 port={port} user=postgres dbname=postgres"


def stop_postgres(pid: int) -> None:
    """Fast shutdown of the postmaster `pid`; waits up to 30 s, then kills it."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGINT)
        for _ in range(300):
            os.kill(pid, 0)  # raises once it is gone
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)

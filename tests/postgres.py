"""A throwaway PostgreSQL server on a free port, from Debian's binaries (initdb, pg_ctl).

PostgreSQL refuses to run as root; when the tests do, the server runs as the `postgres` user
(runuser) in a directory it owns. fsync is off (these servers hold test data, and the fault
tests crash the server, not the machine: what was written reaches the OS either way), but
commits are synchronous, so a commit the client saw survives an immediate stop. restart()
and stop()/start() serve the fault tests.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mosquitto import free_port

_names = itertools.count(1)


def _bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    """initdb + pg_ctl in a temporary directory; DSNs for fresh databases."""

    def __init__(self) -> None:
        bin_dir = _bin_dir()
        if bin_dir is None:
            pytest.skip("PostgreSQL is not installed (scripts/test installs it with apt-get)")
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="kiln-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self._run(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
             "--no-sync", "-E", "UTF8", "--locale=C"]
        )  # fmt: skip
        self.start()

    def _run(self, args: list[str]) -> None:
        done = subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode:
            raise AssertionError(f"{' '.join(args[:2])} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        """Start (or start again) the server, waiting until it accepts connections."""
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c max_connections=200 "
            "-c shared_buffers=256MB"
        )
        self._run(
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-t", "60",
             "-l", str(self.root / "log"), "start"]
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (fast: roll back open transactions; immediate: like a crash)."""
        self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def restart(self) -> None:
        """Stop and start again."""
        self.stop()
        self.start()

    def dsn(self, database: str = "postgres") -> str:
        """A libpq URL for a database of this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; its URL."""
        import psycopg

        name = f"kiln_{os.getpid()}_{next(_names)}"
        with psycopg.connect(self.dsn(), autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)

    def close(self) -> None:
        """Stop the server and remove its files."""
        with contextlib.suppress(AssertionError):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the whole session (each test takes a fresh database)."""
    server = PostgresServer()
    yield server
    server.close()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh database on the session's server."""
    return postgres_server.new_database()

"""A throwaway PostgreSQL server for sink tests.

``FLOWCTL_TEST_PG_DSN`` (e.g. from ``.ci/postgres.sh``) names a server to use; its statement log
may be given as ``FLOWCTL_TEST_PG_LOG``. Otherwise the ``pg`` fixture starts its own cluster with
Debian's ``initdb``/``pg_ctl`` (``/usr/lib/postgresql/*/bin``) on 127.0.0.1, a free port, password
auth and ``log_statement=all``, as the ``postgres`` user when running as root. Tests skip only
when no PostgreSQL binaries exist.

Import the fixture in a test module: ``from conftest_pg import pg  # noqa: F401``.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DATABASE = "flowctl_test"
USER = "flowctl"


@dataclass
class PgServer:
    dsn: str
    password: str | None
    log: Path | None

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log and self.log.exists() else 0

    def log_since(self, offset: int) -> str:
        if self.log is None:
            return ""
        with self.log.open("rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")


def find_bindir() -> Path | None:
    """The newest ``/usr/lib/postgresql/N/bin`` with initdb, else ``pg_config --bindir``."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        bindir = Path(out.stdout.strip())
        if (bindir / "initdb").exists():
            return bindir
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_user(cmd: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


def start_server(bindir: Path, workdir: Path, user: str | None) -> tuple[str, str, Path, int]:
    """initdb + pg_ctl start in ``workdir``; returns (dsn, password, log path, port)."""
    password = secrets.token_hex(12)
    data, log, pwfile = workdir / "data", workdir / "server.log", workdir / "pw"
    pwfile.write_text(password + "\n")
    if user:
        entry = pwd.getpwnam(user)
        for path in (workdir, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    run = {"check": True, "capture_output": True, "text": True}
    subprocess.run(
        _as_user(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                USER,
                f"--pwfile={pwfile}",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            user,
        ),
        **run,
    )
    port = free_port()
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' "
        "-c log_statement=all -c log_line_prefix='%m [%p] %d %a ' -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=40"
    )
    subprocess.run(
        _as_user(
            [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "start"],
            user,
        ),
        **run,
    )
    return f"postgresql://{USER}:{password}@127.0.0.1:{port}/postgres", password, log, port


def stop_server(bindir: Path, workdir: Path, user: str | None) -> None:
    subprocess.run(
        _as_user([str(bindir / "pg_ctl"), "-D", str(workdir / "data"), "-m", "fast", "stop"], user),
        capture_output=True,
        check=False,
    )


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    """A PostgreSQL database for tests (given by FLOWCTL_TEST_PG_DSN or started here)."""
    psycopg = pytest.importorskip("psycopg")
    given = os.environ.get("FLOWCTL_TEST_PG_DSN")
    if given:
        log = os.environ.get("FLOWCTL_TEST_PG_LOG")
        password = psycopg.conninfo.conninfo_to_dict(given).get("password")
        yield PgServer(given, str(password) if password else None, Path(log) if log else None)
        return
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("no PostgreSQL binaries (apt-get install postgresql, or run .ci/postgres.sh)")
    user = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no `postgres` user to run the server as")
        user = "postgres"
    workdir = Path(tempfile.mkdtemp(prefix="flowctl-pg-", dir="/tmp"))
    try:
        admin_dsn, password, log, port = start_server(bindir, workdir, user)
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        dsn = f"postgresql://{USER}:{password}@127.0.0.1:{port}/{DATABASE}"
        yield PgServer(dsn, password, log)
    finally:
        stop_server(bindir, workdir, user)
        shutil.rmtree(workdir, ignore_errors=True)

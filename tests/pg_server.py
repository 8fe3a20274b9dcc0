"""A throwaway PostgreSQL 15 server for tests (DESIGN §12): a fresh cluster in a temporary folder,
listening on a free port on 127.0.0.1 only, with a random superuser password, removed afterwards.

PostgreSQL refuses to run as root, so when the tests run as root the cluster is created and run as
the ``postgres`` user (which the Debian package creates) through ``runuser`` (or ``su``). The data
folder comes from ``tempfile.mkdtemp()`` under the system temporary folder, not from pytest's
``tmp_path``: ``/tmp/pytest-of-root`` is 0700, so the ``postgres`` user could not enter it.

Use the session fixture ``postgres_server`` (import it into a test module, or list this module in
``pytest_plugins``), or ``with ThrowawayPostgres() as pg:`` outside pytest. When PostgreSQL is not
installed the fixture skips, or fails when the environment variable ``CI`` is set, so CI cannot
silently skip the PostgreSQL tests.
"""
from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin",)
INSTALL_HINT = ("PostgreSQL 15 is not installed: run `apt-get update && apt-get install -y "
                "--no-install-recommends postgresql-15` (or set TUTORING_IMPACT_PG_BIN to the folder "
                "holding initdb and pg_ctl)")
SERVER_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """The binaries (or the user to run them as) are missing; the message says how to install them."""


def find_pg_bin() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``; ``TUTORING_IMPACT_PG_BIN`` overrides."""
    candidates = [os.environ["TUTORING_IMPACT_PG_BIN"]] if os.environ.get("TUTORING_IMPACT_PG_BIN") else []
    for d in (*candidates, *PG_BIN_DIRS):
        p = Path(d)
        if all((p / exe).is_file() and os.access(p / exe, os.X_OK) for exe in ("initdb", "pg_ctl", "postgres")):
            return p
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayPostgres:
    """One PostgreSQL cluster for the life of the context. ``dsn(...)`` and ``url(...)`` give
    connection strings for the superuser or any other user; ``create_database`` isolates tests."""

    superuser = "postgres"

    def __init__(self, bin_dir: Path | None = None):
        self.bin_dir = bin_dir or find_pg_bin()
        if self.bin_dir is None:
            raise PostgresUnavailable(INSTALL_HINT)
        self.as_other_user = os.geteuid() == 0
        if self.as_other_user:
            try:
                self._pw = pwd.getpwnam(SERVER_USER)
            except KeyError:
                raise PostgresUnavailable(f"running as root, but there is no '{SERVER_USER}' user to run PostgreSQL "
                                          f"as (installing postgresql-15 creates it). {INSTALL_HINT}") from None
        self.password = secrets.token_urlsafe(18)
        self.host = "127.0.0.1"
        self.port: int | None = None
        self.root: Path | None = None

    # -- connection strings ------------------------------------------------------------------
    def dsn(self, dbname: str = "postgres", user: str | None = None, password: str | None = None) -> str:
        user = user or self.superuser
        password = self.password if password is None and user == self.superuser else password
        pw = f" password={password}" if password else ""
        return f"host={self.host} port={self.port} dbname={dbname} user={user}{pw} connect_timeout=10"

    def url(self, dbname: str = "postgres", user: str | None = None, password: str | None = None) -> str:
        """A SQLAlchemy URL (``postgresql+psycopg://``)."""
        from urllib.parse import quote
        user = user or self.superuser
        password = self.password if password is None and user == self.superuser else password
        auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
        return f"postgresql+psycopg://{auth}@{self.host}:{self.port}/{dbname}"

    def execute(self, *statements: str, dbname: str = "postgres") -> None:
        """Run statements as the superuser in autocommit (CREATE DATABASE, CREATE ROLE, …)."""
        import psycopg
        with psycopg.connect(self.dsn(dbname), autocommit=True) as con:
            for s in statements:
                con.execute(s)

    def create_database(self, name: str) -> str:
        self.execute(f'drop database if exists "{name}" with (force)', f'create database "{name}"')
        return name

    # -- life cycle --------------------------------------------------------------------------
    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [str(self.bin_dir / args[0]), *args[1:]]
        if self.as_other_user:
            if shutil.which("runuser"):
                cmd = ["runuser", "-u", SERVER_USER, "--", *cmd]
            else:
                import shlex
                cmd = ["su", SERVER_USER, "-s", "/bin/sh", "-c", shlex.join(cmd)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if r.returncode != 0:
            log = self.root / "server.log" if self.root else None
            tail = log.read_text(errors="replace")[-2000:] if log and log.is_file() else ""
            raise RuntimeError(f"{args[0]} failed (exit {r.returncode}): {r.stderr.strip() or r.stdout.strip()}\n{tail}")
        return r

    def _own(self, path: Path) -> None:
        if self.as_other_user:
            os.chown(path, self._pw.pw_uid, self._pw.pw_gid)

    def start(self) -> "ThrowawayPostgres":
        self.root = Path(tempfile.mkdtemp(prefix="tutoring-impact-pg-"))
        self._own(self.root)
        data, pwfile = self.root / "data", self.root / "superuser.pw"
        pwfile.write_text(self.password + "\n")
        os.chmod(pwfile, 0o600)
        self._own(pwfile)
        self._run("initdb", "-D", str(data), "-U", self.superuser, f"--pwfile={pwfile}", "--auth=scram-sha-256",
                  "--encoding=UTF8", "--locale=C.UTF-8", "--no-instructions")
        pwfile.unlink()
        # TCP on 127.0.0.1 only, password required; the Unix socket stays inside the temporary folder.
        (data / "pg_hba.conf").write_text("host all all 127.0.0.1/32 scram-sha-256\n")
        # A test server: durability off for speed.
        with open(data / "postgresql.conf", "a") as f:
            f.write(f"\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.root}'\n"
                    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 50\n"
                    "shared_buffers = 64MB\n")
        for attempt in range(3):                       # a free port can be taken between probe and bind
            self.port = free_port()
            try:
                self._run("pg_ctl", "-D", str(data), "-l", str(self.root / "server.log"), "-w", "-t", "60",
                          "-o", f"-p {self.port}", "start")
                break
            except RuntimeError:
                if attempt == 2:
                    raise
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 30) -> None:
        import psycopg
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.dsn(), connect_timeout=2):
                    return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        if self.root is None:
            return
        try:
            if (self.root / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop", timeout=60)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def __enter__(self) -> "ThrowawayPostgres":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture(scope="session")
def postgres_server():
    """A running throwaway PostgreSQL 15 for the whole session (skipped, or failed under CI, if absent)."""
    try:
        server = ThrowawayPostgres()
    except PostgresUnavailable as e:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so the PostgreSQL tests may not be skipped. {e}", pytrace=False)
        pytest.skip(str(e))
    with server:
        yield server

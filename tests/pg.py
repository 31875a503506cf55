"""A PostgreSQL server for the test session: an external one (GATEWAY_TEST_DATABASE_URL) or a throwaway one.

The throwaway server is what pytest-postgresql does, in a few lines: `initdb` into a temporary directory, `pg_ctl
start` on a free loopback port with its unix socket in that directory, `pg_ctl stop` at session end. It keeps
PostgreSQL's defaults (fsync on): the suite is fast enough with them, and a test database that cuts durability
corners would hide what production does. PostgreSQL refuses to run as root, so as root the server runs as the
`postgres` system user the Debian package creates (`.ci/install-postgres.sh` makes sure it exists).

Each test gets its own database, copied from a template that is migrated once per session, so tests stay
independent and the migrations are not replayed for every test.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text
from sqlalchemy.pool import NullPool

URL_ENV = "GATEWAY_TEST_DATABASE_URL"
REQUIRE_ENV = "GATEWAY_TEST_REQUIRE_POSTGRESQL"
SERVER_USER = "postgres"
_counter = itertools.count()


class PostgresUnavailable(Exception):
    """No external server configured and no usable PostgreSQL binaries: the reason says why."""


def find_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian layout first, then PATH)."""
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _admin_engine(url: str) -> Any:
    # CREATE/DROP DATABASE cannot run inside a transaction; no pool, so nothing stays connected.
    return create_engine(_driver_url(url), isolation_level="AUTOCOMMIT", poolclass=NullPool)


def _driver_url(url: str) -> str:
    return "postgresql+psycopg://" + url.removeprefix("postgresql://") if url.startswith("postgresql://") else url


@dataclass
class PostgresServer:
    """A server we may create databases on; `admin_url` points at a database we never drop."""

    admin_url: str
    prefix: str = field(default_factory=lambda: f"gw_test_{os.getpid()}")

    def url_for(self, database: str) -> str:
        return make_url(self.admin_url).set(database=database).render_as_string(hide_password=False)

    def create_database(self, *, template: str | None = None) -> str:
        name = f"{self.prefix}_{next(_counter)}"
        engine = _admin_engine(self.admin_url)
        try:
            with engine.connect() as connection:
                # Names are generated here, never user input, so quoting them is enough.
                connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template or "template0"}" '
                                        "ENCODING 'UTF8'"))
        finally:
            engine.dispose()
        return name

    def drop_database(self, name: str) -> None:
        engine = _admin_engine(self.admin_url)
        try:
            with engine.connect() as connection:
                # FORCE: a test that leaked a connection must not make the next one fail.
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            engine.dispose()

    @contextlib.contextmanager
    def database(self, *, template: str | None = None) -> Iterator[str]:
        """A fresh database for the duration of the block; yields its URL."""
        name = self.create_database(template=template)
        try:
            yield self.url_for(name)
        finally:
            self.drop_database(name)


@dataclass
class ThrowawayServer:
    bin_dir: Path
    base: Path
    port: int
    password: str
    log_file: Path
    run_as: pwd.struct_passwd | None

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    def _run(self, *argv: str, timeout: float = 120) -> None:
        kwargs: dict[str, Any] = {}
        if self.run_as is not None:
            kwargs = {"user": self.run_as.pw_uid, "group": self.run_as.pw_gid, "extra_groups": []}
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "TZ": "UTC"}
        subprocess.run([str(self.bin_dir / argv[0]), *argv[1:]], check=True, cwd=self.base, env=env,
                       timeout=timeout, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, **kwargs)

    def start(self) -> None:
        pwfile = self.base / "pwfile"
        pwfile.write_text(self.password + "\n")
        self._own(pwfile)
        self._run("initdb", "-D", str(self.data_dir), "-U", SERVER_USER, "--auth=scram-sha-256",
                  f"--pwfile={pwfile}", "-E", "UTF8", "--locale=C.UTF-8")
        pwfile.unlink()
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.base} -c max_connections=200"
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data_dir), "-l", str(self.log_file),
                  "-o", options)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "stop", "-w", "-t", "30", "-m", "fast", "-D", str(self.data_dir))
        shutil.rmtree(self.base, ignore_errors=True)

    def _own(self, path: Path) -> None:
        if self.run_as is not None:
            os.chown(path, self.run_as.pw_uid, self.run_as.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql://{SERVER_USER}:{self.password}@127.0.0.1:{self.port}/postgres"


def _server_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        raise PostgresUnavailable(
            f"running as root needs a '{SERVER_USER}' system user to run PostgreSQL "
            "(.ci/install-postgres.sh creates it)") from None


def _stop_orphans(bin_dir: Path, run_as: pwd.struct_passwd | None) -> None:
    """Stop throwaway servers left by a test run that was killed before its teardown (its owner pid is gone)."""
    for owner_file in Path(tempfile.gettempdir()).glob("gateway-pg-*/owner.pid"):
        with contextlib.suppress(ValueError, OSError):
            owner = int(owner_file.read_text())
            if owner != os.getpid() and not Path(f"/proc/{owner}").exists():
                ThrowawayServer(bin_dir=bin_dir, base=owner_file.parent, port=0, password="",
                                log_file=owner_file.parent / "server.log", run_as=run_as).stop()


@contextlib.contextmanager
def throwaway_server() -> Iterator[PostgresServer]:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise PostgresUnavailable(f"no PostgreSQL binaries (initdb) found and {URL_ENV} is not set")
    run_as = _server_user()
    _stop_orphans(bin_dir, run_as)
    # Not under pytest's tmp dir: that is private to the current user, and the server may run as another one.
    base = Path(tempfile.mkdtemp(prefix="gateway-pg-"))
    server = ThrowawayServer(bin_dir=bin_dir, base=base, port=_free_port(), password=secrets.token_urlsafe(16),
                             log_file=base / "server.log", run_as=run_as)
    server._own(base)
    (base / "owner.pid").write_text(str(os.getpid()))
    try:
        server.start()
    except (subprocess.SubprocessError, OSError) as exc:
        log = server.log_file.read_text(errors="replace")[-2000:] if server.log_file.exists() else ""
        server.stop()
        raise PostgresUnavailable(f"the throwaway PostgreSQL server did not start: {exc}\n{log}") from exc
    try:
        yield PostgresServer(server.url)
    finally:
        server.stop()


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """The external server from GATEWAY_TEST_DATABASE_URL if set, else a throwaway one."""
    external = os.environ.get(URL_ENV)
    if external:
        yield PostgresServer(external)
        return
    with throwaway_server() as server:
        yield server


def wait_for(url: str, timeout: float = 30) -> None:
    """Wait until the server answers (an external server may still be starting in CI)."""
    deadline = time.monotonic() + timeout
    engine = _admin_engine(url)
    try:
        while True:
            try:
                with engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
                return
            except Exception as exc:
                if time.monotonic() > deadline:
                    raise PostgresUnavailable(f"PostgreSQL at {make_url(url)!r} does not answer: {exc}") from exc
                time.sleep(0.2)
    finally:
        engine.dispose()

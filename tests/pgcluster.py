"""A throw-away PostgreSQL cluster for tests: Debian's server binaries, a temporary folder,
a free port on 127.0.0.1, removed afterwards. Never touches a PostgreSQL the machine runs.

    python -m tests.pgcluster -- COMMAND ...    (`make pg-test`) runs COMMAND with
        KOERS_TEST_POSTGRES_URL and KOERS_TEST_POSTGRES_URL_2 (two empty databases, owner
        koers_test) and stops the cluster

As root (CI containers), the server runs as the `postgres` user (initdb refuses root).
Local connections over the Unix socket are trusted (for the setup commands); TCP
connections need a password (scram-sha-256), as on a real server.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import URL


def bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found and Path(found).resolve().parent.joinpath("initdb").exists():
        return Path(found).resolve().parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return candidates[0].parent if candidates else None


def available() -> bool:
    return bin_dir() is not None and shutil.which("pg_dump") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    """initdb + pg_ctl start in a temporary folder; `stop()` removes everything."""

    def __init__(self) -> None:
        directory = bin_dir()
        if directory is None:
            raise RuntimeError("PostgreSQL's server binaries are missing (make postgresql-server)")
        self.bin = directory
        self.base = Path(tempfile.mkdtemp(prefix="koers-pg-"))
        self.data = self.base / "data"
        self.socket_dir = self.base / "run"
        self.log = self.base / "postgres.log"
        self.port = _free_port()
        self.as_root = os.geteuid() == 0
        self.superuser = "postgres"
        self.started = False

    # -- running PostgreSQL's programs ----------------------------------------------------------

    def _prefix(self) -> list[str]:
        return ["runuser", "-u", "postgres", "--"] if self.as_root else []

    def run(self, program: str, *args: str, input: str | None = None) -> str:
        """Run a PostgreSQL program (as the cluster's owner) against this cluster."""
        path = self.bin / program
        cmd = [*self._prefix(), str(path if path.exists() else program), *args]
        env = dict(os.environ, PGHOST=str(self.socket_dir), PGPORT=str(self.port))
        env.pop("PGPASSWORD", None)
        result = subprocess.run(
            cmd, input=input, capture_output=True, text=True, env=env, timeout=120
        )
        if result.returncode != 0:
            raise RuntimeError(f"{program} failed: {result.stderr.strip()}")
        return result.stdout

    def sql(self, statement: str, database: str = "postgres") -> str:
        return self.run("psql", "-U", self.superuser, "-d", database, "-Atqc", statement)

    # -- life cycle -----------------------------------------------------------------------------

    def start(self) -> Cluster:
        self.socket_dir.mkdir(parents=True)
        if self.as_root:
            postgres = pwd.getpwnam("postgres")
            os.chmod(self.base, 0o700)
            os.chown(self.base, postgres.pw_uid, postgres.pw_gid)
            os.chown(self.socket_dir, postgres.pw_uid, postgres.pw_gid)
        self.run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            self.superuser,
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        )
        options = (
            f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self.run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start")
        self.started = True
        return self

    def stop(self) -> None:
        if self.started:
            try:
                self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            except RuntimeError:
                pass
            self.started = False
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- roles and databases --------------------------------------------------------------------

    def create_role(self, name: str, password: str) -> None:
        """As `createuser --pwprompt NAME` in docs/deploy.md (password typed twice)."""
        self.run(
            "createuser",
            "-U",
            self.superuser,
            "--pwprompt",
            name,
            input=f"{password}\n{password}\n",
        )

    def create_database(self, name: str, owner: str) -> None:
        """As `createdb -O OWNER NAME` in docs/deploy.md."""
        self.run("createdb", "-U", self.superuser, "-O", owner, name)

    def url(self, user: str, password: str, database: str) -> str:
        return URL.create(
            "postgresql+psycopg2",
            username=user,
            password=password,
            host="127.0.0.1",
            port=self.port,
            database=database,
        ).render_as_string(hide_password=False)


def wait_for(url: str, timeout: float = 30) -> None:
    from sqlalchemy import create_engine, text

    deadline = time.monotonic() + timeout
    while True:
        engine = create_engine(url, future=True)
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
        finally:
            engine.dispose()


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        print("usage: python -m tests.pgcluster -- COMMAND ...", file=sys.stderr)
        return 2
    with Cluster() as cluster:
        cluster.create_role("koers_test", "koers-test-password")
        cluster.create_database("koers_test", "koers_test")
        cluster.create_database("koers_test_2", "koers_test")
        url = cluster.url("koers_test", "koers-test-password", "koers_test")
        wait_for(url)
        print(f"==> Throw-away PostgreSQL on 127.0.0.1:{cluster.port}", flush=True)
        env = dict(
            os.environ,
            KOERS_TEST_POSTGRES_URL=url,
            KOERS_TEST_POSTGRES_URL_2=cluster.url(
                "koers_test", "koers-test-password", "koers_test_2"
            ),
        )
        return subprocess.run(argv, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

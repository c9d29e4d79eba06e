"""Throwaway PostgreSQL and MLflow tracking servers for tests, listening on 127.0.0.1 only."""

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import clean_env

HOST = "127.0.0.1"
INSTALL_HINT = (
    "install the Debian package `postgresql` (`apt-get install postgresql`; .ci/run installs it)"
)
DEBIAN_POSTGRES = Path("/usr/lib/postgresql")
START_TIMEOUT = 60  # seconds


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def log_tail(path: Path, lines: int = 40) -> str:
    """The end of a server log, for failure messages."""
    if not path.is_file():
        return f"({path} was not written)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _version_key(bindir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in bindir.parent.name.split(".") if part.isdigit())


def postgres_bindir() -> Path:
    """The newest Debian PostgreSQL (/usr/lib/postgresql/<version>/bin), else initdb on PATH."""
    installed = sorted(
        (initdb.parent for initdb in DEBIAN_POSTGRES.glob("*/bin/initdb")), key=_version_key
    )
    if installed:
        return installed[-1]
    on_path = shutil.which("initdb")
    if on_path is None:
        pytest.fail(f"PostgreSQL server binaries (initdb, pg_ctl) not found; {INSTALL_HINT}")
    return Path(on_path).parent


@contextmanager
def postgres() -> Iterator[str]:
    """A fresh PostgreSQL cluster with a database `mlflow` owned by a password-protected role.

    Yields the SQLAlchemy URI (TCP on 127.0.0.1, scram-sha-256). PostgreSQL refuses to run as
    root, so as root it runs as the `postgres` user; its folder is then a private temporary
    directory owned by that user, because pytest's own temporary root (mode 0700) is out of
    its reach. The folder is removed on exit.
    """
    bindir = postgres_bindir()
    root = Path(tempfile.mkdtemp(prefix="pytest-postgres-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root)
            pytest.fail(f"PostgreSQL refuses root and there is no `postgres` user; {INSTALL_HINT}")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log, port = root / "data", root / "postgres.log", free_port()

    def run(tool: str, *args: str, sql: str | None = None) -> subprocess.CompletedProcess:
        command = [*as_user, str(bindir / tool), *args]
        return subprocess.run(
            command, cwd=root, input=sql, capture_output=True, text=True, timeout=120
        )

    def check(result: subprocess.CompletedProcess) -> None:
        if result.returncode != 0:
            pytest.fail(
                f"{' '.join(result.args)} exited {result.returncode}:\n"
                f"{result.stdout}{result.stderr}\n--- {log.name}:\n{log_tail(log)}"
            )

    password = secrets.token_urlsafe(16)  # letters, digits, - and _: safe in SQL and URLs
    initdb = "-U postgres -E UTF8 --locale=C --auth-local=trust --auth-host=scram-sha-256 -N"
    # The Unix socket only in the private folder. No fsync: nothing here must survive a crash.
    server = f"-c listen_addresses={HOST} -p {port} -k {root} -c fsync=off"
    try:
        check(run("initdb", "-D", str(data), *initdb.split()))
        start = ["-D", str(data), "-l", str(log), "-w", "-t", str(START_TIMEOUT), "-o", server]
        check(run("pg_ctl", "start", *start))
        try:
            psql = ["-h", str(root), "-p", str(port), "-U", "postgres", "-v", "ON_ERROR_STOP=1"]
            sql = (
                f"CREATE ROLE mlflow LOGIN PASSWORD '{password}';\n"
                "CREATE DATABASE mlflow OWNER mlflow;\n"
            )
            check(run("psql", *psql, "-d", "postgres", "-q", sql=sql))
            yield f"postgresql+psycopg2://mlflow:{password}@{HOST}:{port}/mlflow"
        finally:
            run("pg_ctl", "stop", "-D", str(data), "-m", "fast", "-w")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_health(server: subprocess.Popen, url: str, log: Path) -> float:
    """Seconds until GET /health answered; fails with the log's tail if the server dies or hangs."""
    started = time.monotonic()
    while time.monotonic() - started < START_TIMEOUT:
        if server.poll() is not None:
            pytest.fail(f"mlflow server exited {server.returncode}:\n{log_tail(log)}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    pytest.fail(f"mlflow server gave no /health answer in {START_TIMEOUT} s:\n{log_tail(log)}")


def _stop(server: subprocess.Popen) -> None:
    """Stop the server's whole process group (the CLI and its uvicorn worker)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(server.pid, sig)
        except ProcessLookupError:
            return
        try:
            server.wait(timeout=15)
            return
        except subprocess.TimeoutExpired:
            continue


@contextmanager
def mlflow_server(backend_store_uri: str, root: Path) -> Iterator[str]:
    """`mlflow server` (this venv's) on a free loopback port, serving artifacts from root/artifacts.

    Yields its URL once /health answers; the log is root/mlflow-server.log.
    """
    port, log = free_port(), root / "mlflow-server.log"
    command = [
        *(str(Path(sys.executable).parent / "mlflow"), "server"),
        *("--backend-store-uri", backend_store_uri),
        *("--artifacts-destination", str(root / "artifacts")),
        *("--host", HOST, "--port", str(port), "--workers", "1"),
    ]
    # Job execution (GenAI scorers, periodic tasks) starts seven huey consumer processes that
    # the registry does not use; without them the server is up in half the time.
    env = clean_env(MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    with log.open("wb") as output:
        server = subprocess.Popen(
            command,
            cwd=root,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://{HOST}:{port}"
    try:
        print(f"mlflow server answered /health after {_wait_for_health(server, url, log):.1f} s")
        yield url
    finally:
        _stop(server)

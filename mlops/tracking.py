"""Where MLflow writes, how its failures reach the user, and what each run is tagged with."""

import contextlib
import fcntl
import logging
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException

from mlops.config import Config
from mlops.errors import PipelineError

EMBEDDED_STORE = "mlflow.db"
EMBEDDED_ARTIFACTS = "mlartifacts"


def embedded_tracking_uri(root: Path) -> str:
    return f"sqlite:///{root / EMBEDDED_STORE}"


# Columns where MLflow stores absolute artifact locations of the embedded store.
_ARTIFACT_COLUMNS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "storage_location"),
)


def relocate_embedded_store(root: Path, experiment: str) -> bool:
    """Point the embedded store at root/mlartifacts after the folder moved.

    MLflow records absolute artifact paths, so a store copied elsewhere (another CI job's
    workspace, a downloaded artifact, a moved clone) would look for its models in the old
    place. Returns whether anything was rewritten.
    """
    database = root / EMBEDDED_STORE
    if not database.is_file():
        return False
    new_prefix = (root / EMBEDDED_ARTIFACTS).as_uri()
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        row = connection.execute(
            "SELECT artifact_location FROM experiments WHERE name = ?", (experiment,)
        ).fetchone()
        if row is None or row[0].startswith(new_prefix) or "/" + EMBEDDED_ARTIFACTS not in row[0]:
            return False
        old_prefix = row[0][: row[0].rindex("/" + EMBEDDED_ARTIFACTS) + len(EMBEDDED_ARTIFACTS) + 1]
        for table, column in _ARTIFACT_COLUMNS:
            connection.execute(
                f"UPDATE {table} SET {column} = ? || substr({column}, ?) "  # noqa: S608 (fixed names)
                f"WHERE substr({column}, 1, ?) = ?",
                (new_prefix, len(old_prefix) + 1, len(old_prefix), old_prefix),
            )
    return True


def configure_tracking(config: Config) -> str:
    """Use $MLFLOW_TRACKING_URI when set (CI, a shared server), else the embedded SQLite store.

    Returns the tracking URI in use. The experiment is created on first use; with the embedded
    store its artifacts go next to the database instead of wherever the script was started.
    """
    uri = os.environ.get("MLFLOW_TRACKING_URI") or embedded_tracking_uri(config.root)
    if uri == embedded_tracking_uri(config.root) and relocate_embedded_store(
        config.root, config.mlflow.experiment
    ):
        logging.getLogger(__name__).info(
            f"note: {EMBEDDED_STORE} was moved; its artifact paths now point to {config.root}"
        )
    mlflow.set_tracking_uri(uri)
    with tracking_errors(uri):
        if mlflow.get_experiment_by_name(config.mlflow.experiment) is None:
            artifact_location = None
            if uri.startswith("sqlite:"):
                artifact_location = (config.root / EMBEDDED_ARTIFACTS).as_uri()
            with contextlib.suppress(MlflowException):  # a concurrent run created it first
                mlflow.create_experiment(config.mlflow.experiment, artifact_location)
        mlflow.set_experiment(config.mlflow.experiment)
    return uri


def redact(uri: str) -> str:
    """The URI without credentials, fit for logs and summaries."""
    scheme, sep, rest = uri.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return uri


def server_ui_url(uri: str) -> str | None:
    """The tracking server's web UI (the same address, without credentials), or None for a
    local store."""
    scheme, sep, rest = uri.partition("://")
    if scheme not in ("http", "https") or not sep:
        return None
    host, slash, path = rest.partition("/")
    return f"{scheme}://{host.rsplit('@', 1)[-1]}{slash}{path}".rstrip("/")


@contextlib.contextmanager
def tracking_errors(uri: str | None = None) -> Iterator[None]:
    """Report MLflow failures (server down, refused request) as one `PipelineError`."""
    try:
        yield
    except MlflowException as error:
        where = redact(uri or mlflow.get_tracking_uri())
        first_line = str(error.message).strip().splitlines()[0]
        raise PipelineError(f"MLflow at {where}: {first_line}") from None


@contextlib.contextmanager
def deploy_lock(config: Config, uri: str) -> Iterator[None]:
    """Serialise deploys and rollbacks against the embedded store.

    The second of two concurrent deploys waits, then sees the champion it was evaluated
    against has changed and refuses. A shared server is serialised by the workflow's
    `concurrency` group instead (one deploy job at a time).
    """
    if uri != embedded_tracking_uri(config.root):
        yield
        return
    with open(config.root / f"{EMBEDDED_STORE}.deploy-lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _git(*args: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", *args], capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip()


def git_tags() -> dict[str, str]:
    """Commit and branch of the code being run; on GitHub Actions, the ones the event names."""
    on_actions = "GITHUB_SHA" in os.environ
    commit = os.environ.get("GITHUB_SHA") or _git("rev-parse", "HEAD")
    branch = (
        os.environ.get("GITHUB_HEAD_REF")
        or os.environ.get("GITHUB_REF_NAME")
        or _git("rev-parse", "--abbrev-ref", "HEAD")
    )
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    tags = {"git.commit": commit or "unknown", "git.branch": branch or "unknown"}
    if dirty is not None and not on_actions:
        tags["git.dirty"] = "true" if dirty else "false"
    return tags

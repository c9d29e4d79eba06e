"""A fork's first day: the repository copied, its example data replaced by another real data
set, `make adapt`, `make pipeline` and the fast tests, with nothing else edited."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import CLASSIFICATION, FIXTURES, REGRESSION, clean_env, copy_checkout

pytestmark = pytest.mark.slow
VENV = Path(sys.executable).parent.parent  # shared: a fork's own .venv would be the same


def fork(destination: Path) -> Path:
    """The repository as git would hand it to a fork (tracked and new files), as a git repo."""
    copy_checkout(destination)
    git(destination, "init", "-q", "-b", "main")
    git(destination, "add", "-A")
    git(
        destination,
        "-c",
        "user.name=fork",
        "-c",
        "user.email=fork@example.invalid",
        "commit",
        "-qm",
        "fork",
    )
    return destination


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True
    ).stdout


def make(root: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", f"VENV={VENV}", *args],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("fixture", [CLASSIFICATION, REGRESSION])
def test_a_fork_with_other_data_is_green_after_make_adapt(tmp_path, fixture):
    root = fork(tmp_path / "fork")
    example = yaml.safe_load((root / "config.yaml").read_text())["data"]["path"]
    (root / example).unlink()  # the fork's own data replaces the example's
    source = next((FIXTURES / fixture / "data").glob("*.csv"))
    shutil.copy2(source, root / "data" / source.name)
    target = yaml.safe_load((FIXTURES / fixture / "config.yaml").read_text())["data"]["target"]

    outputs = {}
    for step in (
        ("adapt", f"DATA=data/{source.name}", f"TARGET={target}"),
        ("pipeline",),
        ("test-fast",),
    ):
        result = make(root, *step)
        report = f"make {' '.join(step)}:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        assert result.returncode == 0, report
        assert "Traceback" not in result.stderr, report
        outputs[step[0]] = result.stdout
    assert "review before you commit" in outputs["adapt"]
    assert "as @champion" in outputs["pipeline"]  # the drafted gate let the first model ship
    assert " passed" in outputs["test-fast"] and " failed" not in outputs["test-fast"]
    git(root, "add", "-A")
    changed = {line.split("/")[0] for line in git(root, "diff", "--cached", "--name-only").split()}
    # Only what a fork is told to replace changed; the outputs and the store are git-ignored.
    assert changed <= {"config.yaml", "data", "gx"}, changed

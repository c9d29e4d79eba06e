"""A fork's first days: the template copied with a fixture project in the place of the
example (never the checkout's own config, data or suite, which a fork edits), its data
replaced by another real data set, `make adapt`, `make pipeline` and the fast tests; then a
fork that edited its config runs the tests that read a fork's files."""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from mlops.adapt import config_is_untouched_draft
from tests.conftest import (
    CLASSIFICATION,
    FIXTURES,
    PROJECT_FILES,
    REGRESSION,
    TIME_ORDERED,
    ZYGOTE,
    Project,
    clean_env,
    copy_template,
)

pytestmark = pytest.mark.fork_sensitive
VENV = Path(sys.executable).parent.parent  # shared: a fork's own .venv would be the same
# The data a fork of each example brings: another task, and for one of them rows in time.
OTHER = {CLASSIFICATION: REGRESSION, REGRESSION: TIME_ORDERED}


def fork(destination: Path, example: str) -> Project:
    """The template with the fixture project `example` standing in for its example project,
    as a git repository (what a fork starts from)."""
    project = copy_template(destination, example)
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
    return project


def with_data_of(project: Project, fixture: str) -> tuple[str, str]:
    """The fork's own data replaces the example's: (path in the project, target column)."""
    project.data_path.unlink()
    source = next((FIXTURES / fixture / "data").glob("*.csv"))
    shutil.copy2(source, project.root / "data" / source.name)
    target = yaml.safe_load((FIXTURES / fixture / "config.yaml").read_text())["data"]["target"]
    return f"data/{source.name}", target


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


@pytest.mark.parametrize("example", [CLASSIFICATION, REGRESSION])
def test_a_played_fork_starts_from_a_fixture_whatever_the_checkout_holds(tmp_path, example):
    project = copy_template(tmp_path, example)
    fixture = FIXTURES / example

    def files(root: Path) -> dict[str, bytes]:
        found = [p for name in PROJECT_FILES for p in [root / name, *(root / name).rglob("*")]]
        return {str(p.relative_to(root)): p.read_bytes() for p in found if p.is_file()}

    assert files(project.root) == files(fixture)
    assert config_is_untouched_draft(project.config_path)  # make adapt may replace it
    assert (project.root / "mlops" / "adapt.py").is_file() and (project.root / "Makefile").is_file()


@pytest.mark.slow
@pytest.mark.parametrize("example", [CLASSIFICATION, REGRESSION])
def test_a_fork_with_other_data_is_green_after_make_adapt(tmp_path, example):
    root = tmp_path / "fork"
    data, target = with_data_of(fork(root, example), OTHER[example])

    outputs = {}
    for step in (("adapt", f"DATA={data}", f"TARGET={target}"), ("pipeline",), ("test-fast",)):
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


@pytest.mark.slow
def test_fork_sensitive_tests_pass_in_a_fork_that_edited_its_config(tmp_path, request):
    root = tmp_path / "fork"
    project = fork(root, REGRESSION)
    data, target = with_data_of(project, CLASSIFICATION)
    with tempfile.TemporaryDirectory() as scratch:
        adapted = ZYGOTE.run(
            [root / "adapt_project.py", "--config", project.config_path, "--data", data]
            + ["--target", target],
            clean_env(),
            root,
            timeout=300,
            scratch=Path(scratch),
        )
    assert adapted.returncode == 0, adapted.stdout + adapted.stderr
    # What every fork does next: choose an estimator, set a threshold, name its code owners.
    config = project.config()
    config["model"] = {"estimator": "random_forest", "params": {"n_estimators": 50}}
    config["gate"]["thresholds"]["roc_auc"] = 0.55
    project.write_config(config)
    owners = root / ".github" / "CODEOWNERS"
    owners.write_text(owners.read_text().replace("@your-github-username", "@fork-owner"))

    itself = request.node.nodeid.split("::")[-1]
    # Only the files that mark a test so: collecting every test module costs seconds.
    marked = [
        str(path.relative_to(root))
        for path in sorted((root / "tests").rglob("test_*.py"))
        if "fork_sensitive" in path.read_text(encoding="utf-8")
    ]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-q", *marked]
        + ["-m", "fork_sensitive and not slow", "--deselect", f"tests/test_fork.py::{itself}"],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    passed = {
        line.split()[1].split("[")[0]
        for line in result.stdout.splitlines()
        if line.startswith("PASSED ")
    }
    assert "tests/test_project.py::test_every_feature_and_the_target_has_a_rule" in passed, report
    assert any("test_code_owners" in name for name in passed), report
    assert not any("test_fork_sensitive_tests_pass" in name for name in passed)

"""Shared fixtures: a throwaway copy of the project and a way to run its scripts for real."""

import atexit
import json
import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.zygote import Zygote

REPO = Path(__file__).resolve().parent.parent
ZYGOTE = Zygote()
atexit.register(ZYGOTE.close)
# The template's own test projects, drafted with `make adapt` from public data sets
# (tests/fixtures/README.md): the tests never read the checkout's config.yaml, data/ or gx/,
# which a fork replaces with its own.
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "projects"
CLASSIFICATION = "voter_turnout"
REGRESSION = "saratoga_houses"
# Daily rows of five cities: split by time (drafted), or by city as groups.
TIME_ORDERED = "city_weather"
MULTICLASS = "hawk_species"  # three classes, one of them rare
# The `gh` that answers from files instead of GitHub, and the repository it plays.
FAKE_GH = REPO / "tests" / "fake_github"
REPOSITORY = "acme/ml-project"
# What a project copy needs besides the scripts themselves (which run from the repo).
PROJECT_FILES = ("config.yaml", "data", "gx")


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without tracking, CI or pipeline settings that would leak
    into a run of the project's scripts."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "GITHUB_", "PIPELINE_"))
    }
    # Set, every process would compile its imports again (seconds for Great Expectations).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(
        MLFLOW_DISABLE_TELEMETRY="true",
        GX_ANALYTICS_ENABLED="false",
        MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false",
    )
    env.update(extra)
    return env


@dataclass
class Project:
    """A copy of config.yaml, data/ and gx/ in a temporary folder, with its own MLflow store."""

    root: Path

    @property
    def data_path(self) -> Path:
        return self.root / self.config()["data"]["path"]

    @property
    def target(self) -> str:
        return self.config()["data"]["target"]

    @property
    def positive_class(self) -> str | None:
        return self.config()["data"].get("positive_class")

    @property
    def model_name(self) -> str:
        return self.config()["mlflow"]["registered_model"]

    @property
    def suite_path(self) -> Path:
        return (
            self.root / "gx" / "expectations" / f"{self.config()['data']['expectation_suite']}.json"
        )

    def expectation_count(self) -> int:
        return len(json.loads(self.suite_path.read_text())["expectations"])

    def holdout_rows(self) -> int:
        """How many rows the configured split holds out: test_fraction of them, rounded up,
        at random; by time or by group, what mlops/splits.py holds out (a tied time or a
        whole group moves the share)."""
        split = self.config()["split"]
        if not (split.get("time_column") or split.get("group_column")):
            rows = sum(1 for _ in self.data_path.open()) - 1
            return math.ceil(rows * split["test_fraction"])
        from mlops.config import load_config
        from mlops.data import load_dataset
        from mlops.splits import holdout_split

        config = load_config(self.config_path)
        return len(holdout_split(load_dataset(config.data_path), config).x_test)

    @property
    def config_path(self) -> Path:
        return self.root / "config.yaml"

    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def tracking_uri(self) -> str:
        return f"sqlite:///{self.root / 'mlflow.db'}"

    def config(self) -> dict:
        return yaml.safe_load(self.config_path.read_text())

    def write_config(self, config: dict) -> None:
        self.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    def run(self, script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
        """Run a top-level script against this project in a fresh process, as a user would
        (forked with the heavy libraries already imported: tests/zygote.py)."""
        with tempfile.TemporaryDirectory() as scratch:
            return ZYGOTE.run(
                [REPO / script, "--config", self.config_path, *args],
                clean_env(**env),
                self.root,
                timeout=300,
                scratch=Path(scratch),
            )


def copy_template(destination: Path, fixture: str = CLASSIFICATION) -> "Project":
    """The repository as a commit would hold it (tracked and new, not ignored files; nothing
    generated: .venv, outputs, stores), with a fixture project in place of the checkout's own
    config.yaml, data/ and gx/: what a test that plays a fork or runs the workflows starts
    from, whatever a fork has made of those files."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:
        if (REPO / name).is_file() and name.split("/")[0] not in PROJECT_FILES:
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, destination / name)
    return copy_project(FIXTURES / fixture, destination)


def make_project(destination: Path, fixture: str = CLASSIFICATION) -> Project:
    """A throwaway copy of a fixture project (or of `source`, a project folder)."""
    return copy_project(FIXTURES / fixture, destination)


def copy_of(project: Project, destination: Path) -> Project:
    """A whole project copied (files, store, outputs): a champion to start from without
    training again. The store's artifact paths are relocated on first use."""
    shutil.copytree(project.root, destination, dirs_exist_ok=True)
    return Project(destination)


def copy_project(source_root: Path, destination: Path) -> Project:
    for name in PROJECT_FILES:
        source = source_root / name
        if source.is_dir():
            shutil.copytree(
                source, destination / name, ignore=shutil.ignore_patterns("uncommitted")
            )
        else:
            shutil.copy2(source, destination / name)
    return Project(destination)


# The slow tests that take minutes, after the workflow runs (measured with --durations).
LONGEST = (
    "test_every_estimator",
    "test_champion_store",
    "test_tracking_server",
    "test_fork",
    "test_own_module_and_library",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Longest first (workflow runs, the other long ones, then other slow tests), so parallel
    workers finish together."""

    def weight(item: pytest.Item) -> int:
        if item.get_closest_marker("slow") is None:
            return 3
        if "workflows" in item.nodeid:
            return 0
        return 1 if any(name in item.nodeid for name in LONGEST) else 2

    items.sort(key=weight)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """On GitHub Actions, put the test counts in the job summary."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target or hasattr(config, "workerinput"):  # xdist workers: the controller reports
        return
    counts = {
        outcome: len(terminalreporter.stats.get(outcome, []))
        for outcome in ("passed", "failed", "error", "skipped")
    }
    verdict = "✅ passed" if exitstatus == 0 else "❌ failed"
    row = " | ".join(str(counts[o]) for o in counts)
    with open(target, "a", encoding="utf-8") as summary:
        summary.write(
            f"## Tests: {verdict}\n\n| passed | failed | errors | skipped |\n"
            f"|---|---|---|---|\n| {row} |\n\n"
        )


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return make_project(tmp_path)


def set_field(lines: list[str], row: int, column: str, value: str) -> list[str]:
    """The CSV lines with one field replaced: `row` counts data rows from 1, `column` by name."""
    index = lines[0].split(",").index(column)
    fields = lines[row].split(",")
    fields[index] = value
    return [*lines[:row], ",".join(fields), *lines[row + 1 :]]


def rewrite_data(project: "Project", edit) -> None:
    """Replace the project's data file with `edit(lines)`."""
    lines = project.data_path.read_text().splitlines()
    project.data_path.write_text("\n".join(edit(lines)) + "\n")

"""What a pull request's reader gets, rendered from real runs on a fixture project: the comment
for a first model (no champion yet), then for three candidates compared with it on the same
held-out rows (one clearly better, one within noise, one clearly worse), and for data that
fails validation.

The first model is the fixture's own; each candidate is a config change, trained once. `make
examples` writes the comments to docs/examples/ (classification and regression alternate, so
both are shown); tests/test_examples.py renders every scenario for both fixture projects and
checks them as GitHub would show them.
"""

import copy
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlops.pr_comment import comment_body, report_markdown
from tests.conftest import (
    CLASSIFICATION,
    REGRESSION,
    Project,
    make_project,
    rewrite_data,
    set_field,
)

SCENARIOS = ("first-model", "gate-passed", "within-noise", "gate-failed", "validation-failed")
RUN_URL = "https://github.com/acme/ml-project/actions/runs/1234"
# A pull-request run on GitHub, as the pipeline's jobs see it.
PULL_REQUEST_ENV = {
    "GITHUB_EVENT_NAME": "pull_request",
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/ml-project",
    "GITHUB_RUN_ID": "1234",
}
PASSED = {"validate": "success", "test": "success", "train-evaluate": "success"}
STOPPED = {"validate": "failure", "test": "success", "train-evaluate": "skipped"}
# Which fixture project each committed example comes from.
COMMITTED = {
    "first-model": REGRESSION,
    "gate-passed": CLASSIFICATION,
    "within-noise": CLASSIFICATION,
    "gate-failed": REGRESSION,
    "validation-failed": CLASSIFICATION,
}
DOCS = Path(__file__).resolve().parent.parent / "docs" / "examples"
# The fixtures' own model with ten times the regularisation: a small change of one parameter.
MORE_REGULARISED = {CLASSIFICATION: {"C": 0.1}, REGRESSION: {"alpha": 10.0}}


def _better(config: dict, fixture: str) -> None:
    config["model"] = {"estimator": "hist_gradient_boosting", "params": {"max_depth": 2}}


def _within_noise(config: dict, fixture: str) -> None:
    config["model"]["params"].update(MORE_REGULARISED[fixture])


def _worse(config: dict, fixture: str) -> None:
    """The same model on one column only."""
    config["data"]["numeric_features"] = config["data"]["numeric_features"][:1]
    config["data"]["categorical_features"] = []


CANDIDATES: dict[str, Callable[[dict, str], None]] = {
    "gate-passed": _better,
    "within-noise": _within_noise,
    "gate-failed": _worse,
}


@dataclass(frozen=True)
class Example:
    comment: str  # the sticky comment pr-comment.yml would post
    evaluation: dict | None  # evaluation.json of the run, when the model was evaluated


def _run(project: Project, script: str) -> None:
    result = project.run(script, **PULL_REQUEST_ENV)
    if result.returncode not in (0, 1):  # 1: the data failed validation, as intended
        raise RuntimeError(f"{script} failed:\n{result.stdout}\n{result.stderr}")


def _evaluated(project: Project) -> Example:
    outputs = project.outputs
    markdown = report_markdown((outputs / "evaluation.md").read_text(), PASSED, RUN_URL)
    evaluation = json.loads((outputs / "evaluation.json").read_text())
    return Example(comment_body(markdown, RUN_URL), evaluation)


def _stopped(project: Project) -> Example:
    validation = (project.outputs / "validation.md").read_text()
    markdown = report_markdown(None, STOPPED, RUN_URL, validation)
    return Example(comment_body(markdown, RUN_URL), None)


def _broken(lines: list[str], data: dict) -> list[str]:
    """Three numbers far out of range (a code for "missing") and a category written in
    another case."""
    number, category = data["numeric_features"][0], data["categorical_features"][0]
    at = lines[0].split(",").index(category)
    seen = next(v for v in (line.split(",")[at] for line in lines[1:]) if v.upper() != v.lower())
    for row in (1, 5, 9):
        lines = set_field(lines, row, number, "-999")
    for row in (2, 3):
        lines = set_field(lines, row, category, seen.swapcase())
    return lines


def render(workspace: Path, fixture: str) -> dict[str, Example]:
    """Each scenario, in order, from runs in a copy of the fixture project."""
    workspace.mkdir(parents=True, exist_ok=True)
    project = make_project(workspace, fixture)
    examples = {}
    _run(project, "run_pipeline.py")  # evaluates the first model, then deploys it
    examples["first-model"] = _evaluated(project)
    drafted = project.config()
    for scenario, change in CANDIDATES.items():
        config = copy.deepcopy(drafted)
        change(config, fixture)
        project.write_config(config)
        _run(project, "train_model.py")
        _run(project, "evaluate_model.py")
        examples[scenario] = _evaluated(project)
    project.write_config(drafted)
    rewrite_data(project, lambda lines: _broken(lines, drafted["data"]))
    _run(project, "validate_data.py")
    examples["validation-failed"] = _stopped(project)
    return {scenario: examples[scenario] for scenario in SCENARIOS}


def write_docs(workspace: Path) -> list[Path]:
    """docs/examples/<scenario>.md from the fixture project COMMITTED names for it."""
    rendered = {
        fixture: render(workspace / fixture, fixture) for fixture in set(COMMITTED.values())
    }
    DOCS.mkdir(parents=True, exist_ok=True)
    written = []
    for scenario, fixture in COMMITTED.items():
        path = DOCS / f"{scenario}.md"
        path.write_text(rendered[fixture][scenario].comment, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        for path in write_docs(Path(scratch)):
            print(f"wrote {path.relative_to(DOCS.parent.parent)}")
    sys.exit(0)

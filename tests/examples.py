"""What a pull request's reader gets, rendered from real runs on a fixture project: the comment
for a first model (no champion yet), a gate that passes against the champion, a gate that
fails, and data that fails validation.

`make examples` writes them to docs/examples/ (classification and regression alternate, so
both are shown); tests/test_examples.py renders all of them for both fixture projects and
checks them as GitHub would show them.
"""

import sys
from pathlib import Path

from mlops.metrics import METRICS
from mlops.pr_comment import comment_body, report_markdown
from tests.conftest import (
    CLASSIFICATION,
    REGRESSION,
    Project,
    make_project,
    rewrite_data,
    set_field,
)

SCENARIOS = ("first-model", "gate-passed", "gate-failed", "validation-failed")
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
    "gate-failed": REGRESSION,
    "validation-failed": CLASSIFICATION,
}
DOCS = Path(__file__).resolve().parent.parent / "docs" / "examples"


def _run(project: Project, script: str) -> None:
    result = project.run(script, **PULL_REQUEST_ENV)
    if result.returncode not in (0, 1):  # 1: the data failed validation, as intended
        raise RuntimeError(f"{script} failed:\n{result.stdout}\n{result.stderr}")


def _comment(project: Project, results: dict[str, str]) -> str:
    """The sticky comment pr-comment.yml would post for this run."""
    outputs = project.outputs
    evaluation = (outputs / "evaluation.md").read_text() if results is PASSED else None
    validation = (outputs / "validation.md").read_text() if results is STOPPED else None
    return comment_body(report_markdown(evaluation, results, RUN_URL, validation), RUN_URL)


def _broken(lines: list[str], data: dict) -> list[str]:
    """Three numbers far out of range and two categories nobody listed, one of them hostile
    markdown (the report must show it as text)."""
    number, category = data["numeric_features"][0], data["categorical_features"][0]
    for row in (1, 5, 9):
        lines = set_field(lines, row, number, "-999")
    for row in (2, 3):
        lines = set_field(lines, row, category, "<script>alert(1)</script>|`x`")
    return lines


def render(workspace: Path, fixture: str) -> dict[str, str]:
    """The comment of each scenario, in order, from runs in a copy of the fixture project."""
    workspace.mkdir(parents=True, exist_ok=True)
    project = make_project(workspace, fixture)
    comments = {}
    _run(project, "run_pipeline.py")  # evaluates the first model, then deploys it
    comments["first-model"] = _comment(project, PASSED)
    _run(project, "evaluate_model.py")  # the same candidate against the champion it became
    comments["gate-passed"] = _comment(project, PASSED)
    config = project.config()
    metric = next(iter(config["gate"]["thresholds"]))
    # Out of reach: a minimum of 0.99, or a maximum of 0 where lower is better.
    config["gate"]["thresholds"][metric] = 0.99 if METRICS[metric].greater_is_better else 0.0
    project.write_config(config)
    _run(project, "evaluate_model.py")
    comments["gate-failed"] = _comment(project, PASSED)
    rewrite_data(project, lambda lines: _broken(lines, config["data"]))
    _run(project, "validate_data.py")
    comments["validation-failed"] = _comment(project, STOPPED)
    return comments


def write_docs(workspace: Path) -> list[Path]:
    """docs/examples/<scenario>.md from the fixture project COMMITTED names for it."""
    rendered = {
        fixture: render(workspace / fixture, fixture) for fixture in set(COMMITTED.values())
    }
    DOCS.mkdir(parents=True, exist_ok=True)
    written = []
    for scenario, fixture in COMMITTED.items():
        path = DOCS / f"{scenario}.md"
        path.write_text(rendered[fixture][scenario], encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        for path in write_docs(Path(scratch)):
            print(f"wrote {path.relative_to(DOCS.parent.parent)}")
    sys.exit(0)

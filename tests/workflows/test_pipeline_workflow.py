"""The real workflow files: static guarantees, and real runs through act.

act cannot show what only GitHub enforces (environments, concurrency, permissions, branch
filters); the static tests below pin those down in the files instead.
"""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import CLASSIFICATION, FIXTURES, Project, set_field
from tests.workflows.act_runner import (
    LOCK_FILE,
    ActResult,
    action_step_problems,
    load_lock,
    mapped_labels,
    run_act,
    runs_on_labels,
)

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
SETUP_ACTION = REPO / ".github" / "actions" / "setup" / "action.yml"
PIPELINE = ".github/workflows/pipeline.yml"
BIN = Path(sys.executable).parent
# The pipeline's own test job runs only the fast tests under act: the full suite is what is
# running this very file.
ACT_ENV = {"PYTEST_ADDOPTS": "-m 'not slow'"}
REPOSITORY = {"full_name": "acme/ml-project", "default_branch": "main"}
PUSH_EVENT = {"ref": "refs/heads/main", "repository": REPOSITORY}


def load(path: Path) -> dict:
    # PyYAML reads the key `on` as True.
    return yaml.safe_load(path.read_text())


# ---------------------------------------------------------------- static


@pytest.mark.parametrize("tool", ["actionlint", "zizmor"])
def test_linters_report_nothing(tool):
    command = (
        [str(BIN / "actionlint")]
        if tool == "actionlint"
        else [str(BIN / "zizmor"), "--offline", "--no-progress", ".github"]
    )
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_checks_run_scripts_with_shellcheck():
    assert shutil.which("shellcheck"), (
        "install shellcheck (.ci/run does) so run: scripts are linted"
    )


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_remote_actions_are_pinned_to_the_locked_sha(workflow):
    assert action_step_problems(workflow) == []
    text = workflow.read_text()
    for match in re.finditer(r"uses:\s*([\w.-]+/[\w.-]+)@(\S+)\s*(#.*)?", text):
        action, ref, comment = match.groups()
        assert re.fullmatch(r"[0-9a-f]{40}", ref), f"{action}@{ref} is not a full commit SHA"
        assert comment and load_lock()[action]["version"] in comment, f"{action}: version comment"


def test_composite_setup_action_is_pinned_too():
    lock = load_lock()
    for step in load(SETUP_ACTION)["runs"]["steps"]:
        if "uses" in step:
            action, _, ref = step["uses"].partition("@")
            assert lock[action]["sha"] == ref, step["uses"]


def test_lock_holds_full_shas():
    for action, pin in load_lock().items():
        assert re.fullmatch(r"[0-9a-f]{40}", pin["sha"]), f"{LOCK_FILE.name}: {action}"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_permissions(workflow):
    document = load(workflow)
    assert document["permissions"] == {}, "workflow-level permissions must be {}"
    for job_id, job in document["jobs"].items():
        assert "permissions" in job, f"job {job_id} has no permissions block"
        writes = {k for k, v in job["permissions"].items() if v == "write"}
        allowed = {"pr-comment": {"pull-requests"}, "publish-image": {"packages"}}.get(
            job_id, set()
        )
        assert writes <= allowed, f"job {job_id} may write {writes}"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_runs_on_label_is_mapped(workflow):
    assert runs_on_labels(workflow) <= mapped_labels()


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_no_risky_patterns(workflow):
    document = load(workflow)
    assert "pull_request_target" not in document[True]
    for job_id, job in document["jobs"].items():
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, job_id
            # Event data reaches scripts through env:, never pasted into the script.
            assert "${{" not in step.get("run", ""), f"{job_id}: expression inside run:"
    for version in re.findall(r"python-version:\s*(\S+)", workflow.read_text()):
        assert version.startswith(('"', "'", "${{")), f"unquoted python-version {version}"


def test_deploy_is_guarded_serialised_and_reviewed():
    deploy = load(REPO / PIPELINE)["jobs"]["deploy"]
    assert deploy["environment"] == "production"
    assert deploy["concurrency"]["cancel-in-progress"] is False
    condition = " ".join(deploy["if"].split())
    assert "needs.train-evaluate.outputs.deploy == 'true'" in condition
    assert "github.event_name == 'push'" in condition
    assert "github.event.repository.default_branch" in condition
    # Thresholds live in config.yaml, so the workflow never compares numbers itself.
    assert not re.search(r"outputs\.[\w-]+\s*[<>]=?", (REPO / PIPELINE).read_text())


def test_pull_request_comment_skips_forks():
    comment = load(REPO / PIPELINE)["jobs"]["pr-comment"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]


def test_every_job_sets_up_through_the_shared_action():
    jobs = load(REPO / PIPELINE)["jobs"]
    for job_id in ("validate", "test", "train-evaluate", "deploy"):
        assert "./.github/actions/setup" in [step.get("uses") for step in jobs[job_id]["steps"]]
    for job_id, job in jobs.items():
        uses = [step.get("uses", "") for step in job["steps"]]
        assert not any(u.startswith("actions/setup-python@") for u in uses), job_id


def test_image_publishing_is_opt_in():
    publish = load(REPO / PIPELINE)["jobs"]["publish-image"]
    assert publish["if"] == "vars.PUBLISH_IMAGE == 'true'" and publish["needs"] == "deploy"


# ---------------------------------------------------------------- act runs


def use_fixture_project(repo: Path) -> None:
    """Swap the checkout's own config, data and suite for a fixture project's, as a fork
    would swap in its own: these runs must not depend on the example data."""
    shutil.rmtree(repo / "data")
    shutil.rmtree(repo / "gx")
    for name in ("data", "gx"):
        shutil.copytree(FIXTURES / CLASSIFICATION / name, repo / name)
    shutil.copy2(FIXTURES / CLASSIFICATION / "config.yaml", repo / "config.yaml")


def repository_copy(destination: Path, edit=None) -> Path:
    """The project as committed plus the working tree's changes, as a fresh git repository,
    with the classification fixture project in place of the example's config, data and suite."""
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    use_fixture_project(destination)
    if edit:
        edit(destination)
    # act names the repository after the origin remote (nothing is fetched from it).
    commands = [
        "git init -q -b main",
        "git add -A",
        f"git remote add origin https://github.com/{REPOSITORY['full_name']}.git",
        "git -c user.name=test -c user.email=test@example.invalid commit -qm snapshot",
    ]
    for command in commands:
        subprocess.run(command, shell=True, cwd=destination, check=True)
    return destination


def run_pipeline(repo: Path, run_dir: Path, event: str, payload: dict, **kwargs) -> ActResult:
    return run_act(
        repo,
        event,
        workflow=PIPELINE,
        event_payload=payload,
        env=ACT_ENV,
        timeout=900,
        run_dir=run_dir,
        **kwargs,
    )


def results(run: ActResult) -> dict[str, str]:
    return {job.job_id: job.result for job in run.jobs}


@pytest.mark.slow
def test_push_to_default_branch_deploys_the_model(tmp_path):
    repo = repository_copy(tmp_path / "repo")
    run = run_pipeline(repo, tmp_path / "run", "push", PUSH_EVENT)
    assert run.returncode == 0, run.report()
    assert results(run) == {
        "validate": "success",
        "test": "success",
        "train-evaluate": "success",
        "pr-comment": "skipped",
        "deploy": "success",
        "publish-image": "skipped",
    }, run.report()
    evaluation = run.job("train-evaluate")
    assert "| metric | candidate | threshold |" in evaluation.summary
    assert "Gate passed" in evaluation.summary
    assert evaluation.outputs["evaluate"]["deploy"] == "true"
    project = Project(repo)
    assert (
        f"Deployed **{project.model_name}** version **1** as `@champion`"
        in run.job("deploy").summary
    )
    count = project.expectation_count()
    assert f"{count} of {count} expectations met" in run.job("validate").summary
    assert "## Tests: ✅ passed" in run.job("test").summary
    deployment = json.loads(
        (run.artifacts_dir / "mlflow-store-deployed" / "outputs" / "deployment.json").read_text()
    )
    assert deployment["version"] == "1" and deployment["alias"] == "champion"
    assert deployment["serving_check"]["rows_checked"] == project.holdout_rows()
    bundle = run.artifacts_dir / "model-bundle"
    assert (bundle / "Dockerfile").is_file() and (bundle / "model_dir" / "MLmodel").is_file()


def raise_threshold(repo: Path) -> None:
    project = Project(repo)
    config = project.config()
    config["gate"]["thresholds"]["roc_auc"] = 0.99
    project.write_config(config)


@pytest.mark.slow
def test_threshold_out_of_reach_skips_deploy_and_says_why(tmp_path):
    repo = repository_copy(tmp_path / "repo", raise_threshold)
    run = run_pipeline(repo, tmp_path / "run", "push", PUSH_EVENT)
    assert run.returncode == 0, run.report()
    jobs = results(run)
    assert jobs["train-evaluate"] == "success" and jobs["deploy"] == "skipped", run.report()
    summary = run.job("train-evaluate").summary
    assert "Gate failed" in summary
    assert re.search(r"roc_auc is 0\.\d+, minimum allowed is 0\.9900", summary), summary


@pytest.mark.slow
def test_pull_request_never_deploys_and_keeps_one_sticky_comment(tmp_path):
    repo = repository_copy(tmp_path / "repo")
    payload = {
        "number": 7,
        "pull_request": {"number": 7, "head": {"repo": {"full_name": REPOSITORY["full_name"]}}},
        "repository": REPOSITORY,
    }
    comments = tmp_path / "comments"
    for attempt in ("first", "second"):
        run = run_pipeline(repo, tmp_path / attempt, "pull_request", payload, comments_dir=comments)
        assert run.returncode == 0, run.report()
        jobs = results(run)
        assert jobs["deploy"] == "skipped" and jobs["pr-comment"] == "success", run.report()
    records = run.comments()
    assert len(records) == 1, records
    assert records[0]["pr"] == 7 and records[0]["header"] == "model-evaluation"
    assert (records[0]["created_count"], records[0]["updated_count"]) == (1, 1)
    assert "| metric | candidate | threshold |" in records[0]["body"]


def break_an_expectation(repo: Path) -> None:
    data = Project(repo).data_path
    data.write_text("\n".join(set_field(data.read_text().splitlines(), 1, "age", "250")) + "\n")


@pytest.mark.slow
def test_invalid_data_fails_validation_and_stops_the_pipeline(tmp_path):
    repo = repository_copy(tmp_path / "repo", break_an_expectation)
    run = run_pipeline(repo, tmp_path / "run", "push", PUSH_EVENT)
    assert run.returncode == 1
    jobs = results(run)
    assert jobs["validate"] == "failure", run.report()
    assert jobs["train-evaluate"] == "skipped" and jobs["deploy"] == "skipped", run.report()
    summary = run.job("validate").summary
    assert "**failed**" in summary and "| age | column values to be between" in summary

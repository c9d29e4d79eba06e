"""The real workflow files: static guarantees, and real runs through act.

act cannot show what only GitHub enforces (environments, concurrency, permissions, branch
filters); the static tests below pin those down in the files instead.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlops.metrics import METRICS
from tests.conftest import CLASSIFICATION, FAKE_GH, Project, copy_template, set_field
from tests.workflows.act_runner import (
    LOCK_FILE,
    ActResult,
    action_step_problems,
    clean_env,
    load_lock,
    mapped_labels,
    run_act,
    runs_on_labels,
)

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
SETUP_ACTION = REPO / ".github" / "actions" / "setup" / "action.yml"
PIPELINE = ".github/workflows/pipeline.yml"
COMMENT_WORKFLOW = ".github/workflows/pr-comment.yml"
ROLLBACK = ".github/workflows/rollback.yml"
SELF_TEST = ".github/workflows/self-test.yml"
# The repository variable that opts a copy of the template into its self-tests.
SELF_TESTS_VARIABLE = "TEMPLATE_SELF_TESTS"
TEMPLATE_NAME = r"[\w.-]+/[\w.-]+"
BIN = Path(sys.executable).parent
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
        allowed = {
            "comment": {"pull-requests"},
            "publish-image": {"packages"},
            "deploy": {"contents"},  # the release store
            "rollback": {"contents"},
            "alert": {"issues"},  # monitor.yml: the drift issue
            "retrain": {"actions"},  # monitor.yml: start the pipeline workflow
        }.get(job_id, set())
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
    assert "(github.event_name == 'push' || github.event_name == 'workflow_dispatch')" in condition
    assert "github.event.repository.default_branch" in condition
    # Thresholds live in config.yaml, so the workflow never compares numbers itself.
    assert not re.search(r"outputs\.[\w-]+\s*[<>]=?", (REPO / PIPELINE).read_text())


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_name_no_metric(workflow):
    """Metrics, like thresholds, belong to config.yaml: a fork may compute others."""
    text = yaml.safe_dump(load(workflow))  # without the comments
    for metric in METRICS:
        assert not re.search(rf"\b({metric}|{metric.replace('_', '-')})\b", text), metric


def test_pull_request_comment_is_posted_by_a_trusted_workflow_run():
    """The pull-request run only uploads its report; a workflow_run job that never checks out
    or runs the pull request's code, and sees no secrets, posts it (for forks too)."""
    text = (REPO / COMMENT_WORKFLOW).read_text()
    document = load(REPO / COMMENT_WORKFLOW)
    assert document[True] == {"workflow_run": {"workflows": ["pipeline"], "types": ["completed"]}}
    (job,) = document["jobs"].values()
    assert job["permissions"] == {"actions": "read", "pull-requests": "write"}
    assert "secrets." not in text
    for step in job["steps"]:
        assert set(step.get("with", {})) <= {
            "persist-credentials",
            "name",
            "path",
            "run-id",
            "github-token",
        }, step  # no ref or repository: the default branch's own code
        assert "make" not in step.get("run", "").split()  # nothing installed or built
    report = load(REPO / PIPELINE)["jobs"]["pr-report"]
    assert report["permissions"] == {"contents": "read"}
    assert report["if"] == "always() && github.event_name == 'pull_request'"


def test_template_self_tests_run_outside_the_pipeline():
    pipeline_test = load(REPO / PIPELINE)["jobs"]["test"]
    assert "make test-fast" in [step.get("run") for step in pipeline_test["steps"]]
    self_test = load(REPO / SELF_TEST)
    assert {"push", "pull_request", "schedule", "workflow_dispatch"} <= set(self_test[True])
    (job,) = self_test["jobs"].values()
    assert "make test" in [step.get("run") for step in job["steps"]]


def test_copies_of_the_template_skip_its_self_tests_unless_they_opt_in():
    """Decided by the repository's name or a variable: a repository made with "Use this
    template" is no fork, and a schedule's event carries no repository to ask."""
    (job,) = load(REPO / SELF_TEST)["jobs"].values()
    assert re.fullmatch(
        rf"github\.repository == '{TEMPLATE_NAME}' \|\| vars\.{SELF_TESTS_VARIABLE} == 'true'",
        job["if"],
    ), job["if"]


def template_repository() -> str:
    """The template's own repository, as self-test.yml names it."""
    (job,) = load(REPO / SELF_TEST)["jobs"].values()
    return re.search(rf"github\.repository == '({TEMPLATE_NAME})'", job["if"])[1]


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


@pytest.mark.fork_sensitive  # a fork replaces the placeholder owner, as the README says
def test_code_owners_guard_the_gate_and_the_workflows():
    owners = {}
    for line in (REPO / ".github" / "CODEOWNERS").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            pattern, *names = line.split()
            owners[pattern] = names
    guarded = (
        "/config.yaml",
        "/project_model.py",
        "/project_model/",
        "/.github/",
        "/mlops/gate.py",
    )
    for path in guarded:
        assert owners.get(path), f"CODEOWNERS names no owner for {path}"
    names = {name for names in owners.values() for name in names}
    assert all(re.fullmatch(r"@[\w.-]+(/[\w.-]+)?|[^@\s]+@[^@\s]+", n) for n in names), names
    # The placeholder, while there, is the one the README tells a fork to replace.
    readme = (REPO / "README.md").read_text()
    assert names == {"@your-github-username"} or "@your-github-username" not in names
    assert "@your-github-username" in readme and "Require review from Code Owners" in readme
    # The evaluation compares the pull request's gate with its base branch's.
    steps = load(REPO / PIPELINE)["jobs"]["train-evaluate"]["steps"]
    evaluate = next(step for step in steps if step.get("id") == "evaluate")
    assert evaluate["env"]["BASE_REF"] == "${{ github.event.pull_request.base.sha }}"
    assert steps[0]["with"]["fetch-depth"] == 2


# ---------------------------------------------------------------- act runs


def repository_copy(destination: Path, edit=None) -> Path:
    """The project as committed plus the working tree's changes, as a fresh git repository,
    with the classification fixture project in place of the example's config, data and suite
    (these runs must not depend on what a fork put there)."""
    copy_template(destination, CLASSIFICATION)
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
    kwargs.setdefault("env", github_env(run_dir / "github"))
    return run_act(
        repo,
        event,
        workflow=PIPELINE,
        event_payload=payload,
        timeout=900,
        run_dir=run_dir,
        **kwargs,
    )


def results(run: ActResult) -> dict[str, str]:
    return {job.job_id: job.result for job in run.jobs}


def github_env(github: Path) -> dict[str, str]:
    """A fake `gh` on PATH that keeps releases and comments in `github` (see tests/fake_github),
    and this session's virtualenv as the jobs' VENV: the setup step still runs `make install`,
    which finds everything installed instead of building a venv per job."""
    github.mkdir(parents=True, exist_ok=True)
    return {
        "VENV": str(BIN.parent),
        "FAKE_GITHUB_DIR": str(github),
        "PATH": f"{FAKE_GH}{os.pathsep}{clean_env()['PATH']}",
        # The test job runs `make test-fast` as committed, on the project's own tests only:
        # this suite runs every fast test itself, and each pipeline run here would repeat them.
        "PYTEST_ADDOPTS": "tests/test_project.py",
    }


def published(github: Path, model: str) -> dict:
    release = github / REPOSITORY["full_name"] / "releases" / f"{model}-champion"
    return json.loads((release / "champion.json").read_text())


@pytest.mark.slow
def test_champion_persists_across_pushes_and_rollback_and_serves_fork_pull_requests(tmp_path):
    """Push, push, roll back: every run starts from an empty workspace; only the (fake)
    GitHub Releases carry the champion from one run to the next. Then a fork's pull request
    that raises a threshold (and widens a tolerance, which loosens the gate) is compared with
    the champion, never deploys, and gets the comment through pr-comment.yml; its next commit
    breaks the data, and the same comment then says where the run stopped. (One chain: the
    pull requests need a deployed champion, and a deploy is the costliest run here.)"""
    repo = repository_copy(tmp_path / "repo")
    project = Project(repo)
    model = project.model_name
    github = tmp_path / "github"
    env = github_env(github)

    first = run_pipeline(repo, tmp_path / "push1", "push", PUSH_EVENT, env=env)
    assert first.returncode == 0, first.report()
    assert results(first) == {
        "validate": "success",
        "test": "success",
        "train-evaluate": "success",
        "pr-report": "skipped",
        "deploy": "success",
        "publish-image": "skipped",
    }, first.report()
    evaluation = first.job("train-evaluate")
    assert "no champion published yet" in evaluation.summary
    assert "Gate passed" in evaluation.summary
    assert evaluation.outputs["evaluate"]["deploy"] == "true"
    assert f"Deployed **{model}** version **1** as `@champion`" in first.job("deploy").summary
    assert "in the `model-bundle` artifact of [this run](" in first.job("deploy").summary
    count = project.expectation_count()
    assert f"passed all {count} rules of" in first.job("validate").summary
    assert "## Tests: ✅ passed" in first.job("test").summary
    deployment = json.loads(
        (first.artifacts_dir / "mlflow-store-deployed" / "outputs" / "deployment.json").read_text()
    )
    assert deployment["serving_check"]["rows_checked"] == project.holdout_rows()
    bundle = first.artifacts_dir / "model-bundle"
    assert (bundle / "Dockerfile").is_file() and (bundle / "model_dir" / "MLmodel").is_file()
    assert published(github, model)["champion"]["version"] == "1"

    second = run_pipeline(repo, tmp_path / "push2", "push", PUSH_EVENT, env=env)
    assert second.returncode == 0, second.report()
    summary = second.job("train-evaluate").summary
    assert f"restored {model} version 1" in summary and "champion v1" in summary, summary
    assert "version **2** as `@champion` (previous: 1)" in second.job("deploy").summary
    assert published(github, model)["champion"]["version"] == "2"

    rollback = run_act(
        repo,
        "workflow_dispatch",
        workflow=ROLLBACK,
        event_payload={"inputs": {"to-version": "", "reason": "v2 misbehaves"}, **PUSH_EVENT},
        inputs={"to-version": "", "reason": "v2 misbehaves"},
        env=env,
        timeout=600,
        run_dir=tmp_path / "rollback",
    )
    assert rollback.returncode == 0, rollback.report()
    assert "moved from version **2** to **1**: v2 misbehaves" in rollback.job("rollback").summary
    pointer = published(github, model)
    assert pointer["champion"]["version"] == "1"
    last = pointer["history"][-1]
    assert (last["event"], last["version"], last["from_version"]) == ("rollback", "1", "2")
    assert last["reason"] == "v2 misbehaves" and last["actor"]

    base = git_head(repo)

    def pull_request(head: str) -> dict:
        fork = {"full_name": "someone/ml-project-fork"}
        return {
            "number": 7,
            "pull_request": {
                "number": 7,
                "head": {"sha": head, "repo": fork},
                "base": {"sha": base, "repo": REPOSITORY},
            },
            "repository": REPOSITORY,
        }

    head = commit(repo, raise_a_threshold_widen_a_tolerance, "raise a threshold")
    pull = run_pipeline(repo, tmp_path / "pr1", "pull_request", pull_request(head), env=env)
    assert pull.returncode == 0, pull.report()
    jobs = results(pull)
    assert jobs["deploy"] == "skipped" and jobs["pr-report"] == "success", pull.report()
    summary = pull.job("train-evaluate").summary
    assert "Gate failed: would not deploy after merge" in summary, summary
    assert "champion v1" in summary, summary
    assert re.search(r"\w+ is 0\.\d+, minimum allowed is 0\.9900", summary), summary
    loosening = "⚠️ **This pull request loosens the gate** (compared with the base branch):"
    assert loosening in summary and "champion_tolerance" in summary, summary
    [comment] = pull_request_comment(repo, github, pull, head, tmp_path / "comment1")
    assert comment["body"].startswith("<!-- model-evaluation -->")
    assert loosening in comment["body"], comment["body"]
    assert "champion v1" in comment["body"] and "A pull request never deploys" in comment["body"]

    head = commit(repo, break_an_expectation, "break the data")
    broken = run_pipeline(repo, tmp_path / "pr2", "pull_request", pull_request(head), env=env)
    assert broken.returncode == 1
    jobs = results(broken)
    assert jobs["validate"] == "failure" and jobs["pr-report"] == "success", broken.report()
    assert jobs["train-evaluate"] == "skipped" and jobs["deploy"] == "skipped", broken.report()
    summary = broken.job("validate").summary
    assert re.search(r"❌ \*\*`[^`]+` failed 1 of \d+ rules\*\*, on 1 column\(s\): `age`", summary)
    assert "| age | column values to be between" in summary and "**Next:**" in summary
    assert "the `validation` artifact of [this run](" in summary, summary
    comments = pull_request_comment(repo, github, broken, head, tmp_path / "comment2")
    assert len(comments) == 1, comments  # the same comment, updated in place
    body = comments[0]["body"]
    assert "❌ **Stopped at `validate`: the data failed its expectation suite.**" in body, body
    assert "| age | column values to be between" in body and "| validate | failure |" in body
    assert published(github, Project(repo).model_name)["champion"]["version"] == "1"


def raise_a_threshold_widen_a_tolerance(repo: Path) -> None:
    project = Project(repo)
    config = project.config()
    metric = next(iter(config["gate"]["thresholds"]))
    config["gate"]["thresholds"][metric] = 0.99
    tolerances = config["gate"]["champion_tolerance"]
    tolerances[metric] = tolerances[metric] + 0.5
    project.write_config(config)


def break_an_expectation(repo: Path) -> None:
    data = Project(repo).data_path
    data.write_text("\n".join(set_field(data.read_text().splitlines(), 1, "age", "250")) + "\n")


def git_head(repo: Path) -> str:
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def commit(repo: Path, edit, message: str) -> str:
    """Apply `edit` to the repository copy and commit it; returns the new head sha."""
    edit(repo)
    for command in (
        "git add -A",
        f"git -c user.name=test -c user.email=test@example.invalid commit -qm '{message}'",
    ):
        subprocess.run(command, shell=True, cwd=repo, check=True)
    return git_head(repo)


def pull_request_comment(repo: Path, github: Path, pull: ActResult, head: str, run_dir: Path):
    """pr-comment.yml, as GitHub starts it when a pull-request run of `head` completes."""
    pulls = github / REPOSITORY["full_name"] / "pulls"
    pulls.mkdir(parents=True, exist_ok=True)
    (pulls / "7.json").write_text(json.dumps({"number": 7, "head": {"sha": head}}))
    event = {
        "workflow_run": {
            "id": 4242,
            "event": "pull_request",
            "head_sha": head,
            "html_url": "https://github.com/acme/ml-project/actions/runs/4242",
        },
        "repository": REPOSITORY,
    }
    run = run_act(
        repo,
        "workflow_run",
        workflow=COMMENT_WORKFLOW,
        event_payload=event,
        env=github_env(github),
        timeout=300,
        run_dir=run_dir,
        artifacts_dir=pull.artifacts_dir,
    )
    assert run.returncode == 0, run.report()
    return json.loads((github / REPOSITORY["full_name"] / "comments" / "7.json").read_text())


def self_test_probe(destination: Path, repository: str) -> Path:
    """self-test.yml with its triggers and its job's condition as committed, the job's steps
    swapped for one echo, in a git repository whose origin (act's github.repository) is
    `repository`."""
    document = load(REPO / SELF_TEST)
    (job,) = document["jobs"].values()
    job["steps"] = [{"run": "echo self-tests ran"}]
    document["on"] = document.pop(True)
    workflow = destination / SELF_TEST
    workflow.parent.mkdir(parents=True)
    workflow.write_text(yaml.safe_dump(document, sort_keys=False))
    for command in (
        "git init -q -b main",
        "git add -A",
        f"git remote add origin https://github.com/{repository}.git",
        "git -c user.name=test -c user.email=test@example.invalid commit -qm probe",
    ):
        subprocess.run(command, shell=True, cwd=destination, check=True)
    return destination


@pytest.mark.slow
def test_self_tests_are_skipped_in_a_copy_and_run_where_they_belong(tmp_path):
    """act evaluates the committed condition: a copy skips the job, a copy with the variable
    and the template's own repository run it."""
    template = template_repository()
    cases = {
        "copy": (REPOSITORY["full_name"], {}, "skipped"),
        "opted-in-copy": (REPOSITORY["full_name"], {SELF_TESTS_VARIABLE: "true"}, "success"),
        "template": (template, {}, "success"),
    }
    for case, (repository, variables, expected) in cases.items():  # act wants paths without spaces
        repo = self_test_probe(tmp_path / case / "repo", repository)
        run = run_act(
            repo,
            "workflow_dispatch",
            workflow=SELF_TEST,
            event_payload={"repository": {"full_name": repository}},
            variables=variables,
            timeout=120,
            run_dir=tmp_path / case / "run",
        )
        assert run.returncode == 0, run.report()
        assert results(run) == {"self-test": expected}, (case, run.report())

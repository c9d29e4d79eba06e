"""Proof that act_runner and the shims run a toy workflow that uses every locked action."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.workflows.act_runner import (
    ActResult,
    action_step_problems,
    load_lock,
    local_repository_args,
    mapped_labels,
    run_act,
    runs_on_labels,
)

FIXTURE = Path(__file__).parent / "fixtures" / "toy"
WORKFLOWS = sorted((FIXTURE / ".github" / "workflows").glob("*.yml"))
TOY = ".github/workflows/toy.yml"
# GitHub sends the number twice; act builds GITHUB_REF from the top-level one.
PR_EVENT = {
    "number": 7,
    "pull_request": {"number": 7, "head": {"ref": "feature"}, "base": {"ref": "main"}},
}
GIT_ENV = {
    "PATH": os.environ["PATH"],
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "toy",
    "GIT_AUTHOR_EMAIL": "toy@example.com",
    "GIT_COMMITTER_NAME": "toy",
    "GIT_COMMITTER_EMAIL": "toy@example.com",
}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, env=GIT_ENV, check=True, capture_output=True)


def commit_score(repo: Path, score: str) -> None:
    (repo / "score.txt").write_text(f"{score}\n")
    git(repo, "add", "score.txt")
    git(repo, "commit", "-q", "-m", f"score {score}")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repo holding the toy workflows, one commit, and one untracked file."""
    path = tmp_path / "repo"
    shutil.copytree(FIXTURE, path)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", ".")
    commit_score(path, "0.8")
    (path / "untracked.txt").write_text("not committed\n")
    return path


def main_steps(result: ActResult, job_id: str) -> dict[str, str]:
    return {step.step_id: step.result for step in result.job(job_id).steps if step.stage == "Main"}


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_runs_on_label_is_mapped(workflow: Path) -> None:
    assert runs_on_labels(workflow) <= mapped_labels()


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_action_steps_match_lock_and_shim_inputs(workflow: Path) -> None:
    assert action_step_problems(workflow) == []


def test_lock_pins_full_shas_and_every_action_has_a_shim() -> None:
    assert all(re.fullmatch(r"[0-9a-f]{40}", pin["sha"]) for pin in load_lock().values())
    assert len(local_repository_args()) == 2 * len(load_lock())


@pytest.mark.slow
def test_push_runs_build_and_skips_comment(repo: Path, tmp_path: Path) -> None:
    result = run_act(repo, "push", workflow=TOY, run_dir=tmp_path / "run")

    assert result.returncode == 0, result.report()
    assert result.job("build").result == "success"
    assert result.job("comment").result == "skipped"
    assert set(main_steps(result, "build").values()) == {"success"}
    outputs = result.job("build").outputs
    assert outputs["score"] == {"score": "0.8"}
    assert outputs["python"]["python-version"].startswith("3.11.")
    assert Path(outputs["python"]["python-path"]).is_relative_to(tmp_path / "run")
    assert outputs["cache"]["cache-hit"] == "false"
    assert outputs["0"]["ref"] == "refs/heads/main"
    assert "score: 0.8" in result.job("build").summary
    assert (result.artifacts_dir / "report" / "report.md").read_text().endswith("score: 0.8\n")
    assert result.artifact("report")["retention-days"] == 7
    assert result.comments() == []
    assert result.killed_pids == []


@pytest.mark.slow
def test_sticky_comment_is_created_then_updated(repo: Path, tmp_path: Path) -> None:
    comments_dir = tmp_path / "pr-comments"
    first = run_act(
        repo,
        "pull_request",
        workflow=TOY,
        event_payload=PR_EVENT,
        run_dir=tmp_path / "run1",
        comments_dir=comments_dir,
    )
    [created] = first.comments()
    commit_score(repo, "0.9")
    second = run_act(
        repo,
        "pull_request",
        workflow=TOY,
        event_payload=PR_EVENT,
        run_dir=tmp_path / "run2",
        comments_dir=comments_dir,
    )

    for result in (first, second):
        assert result.returncode == 0, result.report()
        assert {job.job_id: job.result for job in result.jobs} == {
            "build": "success",
            "comment": "success",
        }
    assert (created["created_count"], created["updated_count"], created["body"]) == (
        1,
        0,
        "Toy score 0.8\n",
    )
    assert second.job("build").outputs["0"]["ref"] == "refs/pull/7/merge"
    [comment] = second.comments()
    assert (comment["pr"], comment["header"]) == (7, "toy-report")
    assert (comment["created_count"], comment["updated_count"]) == (1, 1)
    assert comment["body"] == "Toy score 0.9\n"
    assert second.job("comment").summary == "Toy score 0.9\n"
    assert second.job("comment").outputs["1"]["previous_comment_id"] == "1"


@pytest.mark.slow
def test_missing_artifact_fails_the_job(repo: Path, tmp_path: Path) -> None:
    result = run_act(
        repo,
        "workflow_dispatch",
        workflow=TOY,
        inputs={"artifact-path": "missing.md"},
        run_dir=tmp_path / "run",
    )

    assert result.returncode == 1, result.report()
    assert result.job("build").result == "failure"
    assert main_steps(result, "build")["5"] == "failure"
    assert result.job("comment").result == "skipped"
    assert not (result.artifacts_dir / "report").exists()


@pytest.mark.slow
def test_detached_processes_are_killed(repo: Path, tmp_path: Path) -> None:
    result = run_act(
        repo, "workflow_dispatch", workflow=".github/workflows/leak.yml", run_dir=tmp_path / "run"
    )

    assert result.returncode == 0, result.report()
    assert len(result.killed_pids) == 1

"""How long a pull request waits for its comment: the real workflows under act, warm.

A repository copy with the classification fixture project gets a champion from one push
run, then a pull request runs the pipeline and pr-comment.yml posts its report (GitHub is
the recording fake in tests/fake_github). Job times come from act's log; the critical path
is the slower of validate and test, then train-evaluate, pr-report and the comment job.
The jobs share the benchmark's virtualenv (as in the workflow tests), so they skip building
one. For GitHub two assumptions are added, not measured: each of the four stages waits
RUNNER_STARTUP_SECONDS for a hosted runner (typically 10-30 s), and the two stages that
install the project pay INSTALL_SECONDS (setup-python, the uv cache restore and a warm
`make install`; the `setup` section measures the install itself).
"""

import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

RUNNER_STARTUP_SECONDS = 20.0
INSTALL_SECONDS = 20.0
STAGES = (("validate", "test"), ("train-evaluate",), ("pr-report",))


def job_seconds(log_path: Path) -> dict[str, float]:
    """Per job id: seconds from its first to its last line in act's --json log."""
    first: dict[str, datetime] = {}
    last: dict[str, datetime] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        entry = json.loads(line)
        if "jobID" not in entry or "time" not in entry:
            continue
        moment = datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))
        first.setdefault(entry["jobID"], moment)
        last[entry["jobID"]] = moment
    return {job: (last[job] - first[job]).total_seconds() for job in first}


def bench_pr_feedback() -> dict[str, Any]:
    # The act helpers live with the workflow tests (dev requirements).
    from tests.workflows.test_pipeline_workflow import (  # noqa: PLC0415
        PUSH_EVENT,
        github_env,
        pull_request_comment,
        repository_copy,
        run_pipeline,
    )

    with tempfile.TemporaryDirectory(prefix="pr-feedback-") as scratch_name:
        scratch = Path(scratch_name)
        repo = repository_copy(scratch / "repo")
        github = scratch / "github"
        env = github_env(github)
        push = run_pipeline(repo, scratch / "push", "push", PUSH_EVENT, env=env)
        if push.returncode != 0:
            raise RuntimeError(f"the push run failed:\n{push.report()}")
        head = "f" * 40
        payload = {
            "number": 7,
            "pull_request": {"number": 7, "head": {"sha": head, "repo": {"full_name": "x/y"}}},
            "repository": {"full_name": "acme/ml-project", "default_branch": "main"},
        }
        started = datetime.now()
        pull = run_pipeline(repo, scratch / "pr", "pull_request", payload, env=env)
        pipeline_seconds = (datetime.now() - started).total_seconds()
        if pull.returncode != 0:
            raise RuntimeError(f"the pull-request run failed:\n{pull.report()}")
        started = datetime.now()
        pull_request_comment(repo, github, pull, head, scratch / "comment")
        comment_seconds = (datetime.now() - started).total_seconds()
        ran = {job.job_id for job in pull.jobs if job.result != "skipped"}
        jobs = {job: sec for job, sec in job_seconds(pull.log_path).items() if job in ran}

    stages = [max(jobs.get(job, 0.0) for job in stage) for stage in STAGES]
    critical = sum(stages) + comment_seconds
    return {
        "jobs_seconds": jobs,
        "pipeline_wall_seconds": pipeline_seconds,
        "comment_wall_seconds": comment_seconds,
        "pr_workflow_seconds": pipeline_seconds + comment_seconds,
        "critical_path_seconds": critical,
        "runner_startup_seconds": RUNNER_STARTUP_SECONDS,
        "install_seconds": INSTALL_SECONDS,
        "opened_to_comment_estimate_seconds": critical
        + RUNNER_STARTUP_SECONDS * (len(STAGES) + 1)
        + INSTALL_SECONDS * 2,
    }

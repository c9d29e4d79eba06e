"""Pull-request feedback: the real workflows under act, warm (benchmarks/pr_feedback.py)."""

from typing import Any

from benchmarks.pr_feedback import STAGES, bench_pr_feedback
from benchmarks.report import Table
from benchmarks.runner import BenchmarkError, Context, Target, get, progress

NAME = "pr"
TITLE = "Pull-request feedback"
ABOUT = (
    "A pull request's run of `pipeline.yml` and then `pr-comment.yml` under act (warm: the "
    "jobs share the benchmark's virtualenv), after a push run made a champion, on a "
    "repository copy with the classification fixture project; GitHub is the recording fake "
    "in `tests/fake_github`. Needs act, Docker and the dev requirements. Job seconds come from "
    "act's log. The estimate for GitHub is the critical path (the slower of validate and "
    "test, then train-evaluate, pr-report and the comment workflow) plus, assumed rather "
    "than measured, a hosted runner's start-up per stage and a warm install in the two stages "
    "that install."
)
PEAK_MEMORY = False
REPEATED = False  # one act run, whatever --repeats says


def run(context: Context) -> dict[str, Any]:
    progress("pr: a push for the champion, then a pull request and its comment")
    try:
        return bench_pr_feedback()
    except ImportError as error:
        raise BenchmarkError(
            f"pr: needs the dev requirements (make install-dev): {error}"
        ) from None
    except (RuntimeError, OSError, AssertionError) as error:  # act missing, a job failed
        raise BenchmarkError(f"pr: {error}") from None


def targets(results: dict[str, Any] | None) -> list[Target]:
    return [
        Target(
            "pull-request workflow + comment under act, warm",
            get(results, "pr_workflow_seconds"),
            90.0,
            "s",
        ),
        Target(
            "pull request opened -> comment (estimate for GitHub)",
            get(results, "opened_to_comment_estimate_seconds"),
            240.0,
            "s",
        ),
    ]


def tables(results: dict[str, Any]) -> list[Table]:
    r = results
    jobs = [[job, f"{seconds:.0f}"] for job, seconds in sorted(r["jobs_seconds"].items())]
    stages = " → ".join("/".join(stage) for stage in STAGES) + " → comment"
    estimate = [
        ["pipeline run under act (wall)", f"{r['pipeline_wall_seconds']:.0f}"],
        ["comment workflow under act (wall)", f"{r['comment_wall_seconds']:.0f}"],
        [f"critical path ({stages})", f"{r['critical_path_seconds']:.0f}"],
        ["assumed runner start-up per stage", f"{r['runner_startup_seconds']:.0f}"],
        ["assumed install in each of 2 installing stages", f"{r['install_seconds']:.0f}"],
        ["opened → comment, estimate for GitHub", f"{r['opened_to_comment_estimate_seconds']:.0f}"],
    ]
    return [
        Table("Jobs of the pull-request run, seconds (act's log)", ["job", "s"], jobs),
        Table("From opening the pull request to its comment, seconds", ["", "s"], estimate),
    ]

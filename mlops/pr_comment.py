"""Post a pipeline run's report as the one sticky comment of its pull request.

Runs in the base repository's `workflow_run` job with a token that may write comments, on a
report uploaded by a pull-request run that may come from a fork: every byte of the report is
untrusted. Standard library only, so that job installs nothing.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

from mlops import github_api
from mlops.errors import PipelineError
from mlops.markdown import cut_to_fit

MARKER = "<!-- model-evaluation -->"
REPORT_FILE = "comment.md"
PULL_REQUEST_FILE = "pull_request.json"
# GitHub refuses comments over 65,536 characters; leave room for the marker and the note.
MAX_COMMENT_CHARS = 60_000
MAX_FILE_BYTES = 256 * 1024


@dataclass(frozen=True)
class Report:
    number: int
    markdown: str


def read_report(directory: Path) -> Report:
    """The PR number and markdown from an uploaded report folder, checked as untrusted data."""
    files = {p.name: p for p in directory.iterdir()}
    if set(files) != {REPORT_FILE, PULL_REQUEST_FILE}:
        raise PipelineError(
            f"{directory}: expected exactly {REPORT_FILE} and {PULL_REQUEST_FILE}, found "
            f"{sorted(files)}"
        )
    for path in files.values():
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_FILE_BYTES:
            raise PipelineError(
                f"{path.name}: not a plain file of at most {MAX_FILE_BYTES} bytes; refused"
            )
    try:
        markdown = files[REPORT_FILE].read_bytes().decode("utf-8")
        number = json.loads(files[PULL_REQUEST_FILE].read_text(encoding="utf-8"))["number"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise PipelineError(f"{directory}: unreadable report: {error}") from None
    if "\0" in markdown:
        raise PipelineError(f"{REPORT_FILE}: contains NUL bytes; refused")
    if not isinstance(number, int) or isinstance(number, bool) or number <= 0:
        raise PipelineError(f"{PULL_REQUEST_FILE}: number must be a positive integer")
    return Report(number, markdown)


def comment_body(markdown: str, run_url: str | None) -> str:
    """The marker first (how the comment is found again), the report, truncated with a note."""
    note = "\n\n_Report truncated to fit a comment"
    note += f": the whole report is in the [run summary]({run_url})._" if run_url else "._"
    return f"{MARKER}\n{cut_to_fit(markdown.replace(MARKER, ''), MAX_COMMENT_CHARS, note)}"


def post(repository: str, report: Report, head_sha: str, run_url: str | None) -> str:
    """Create or update the sticky comment; returns what was done."""
    if not re.fullmatch(r"[0-9a-f]{40}", head_sha):
        raise PipelineError(f"head sha {head_sha!r} is not a commit sha")
    pull = github_api.call(f"repos/{repository}/pulls/{report.number}")
    if pull.get("head", {}).get("sha") != head_sha:
        raise PipelineError(
            f"pull request #{report.number} is at {pull.get('head', {}).get('sha')}, the run "
            f"that made this report built {head_sha}: not commenting a report on other code"
        )
    body = {"body": comment_body(report.markdown, run_url)}
    comments = github_api.every_page(f"repos/{repository}/issues/{report.number}/comments")
    ours = [
        c
        for c in comments
        if c.get("user", {}).get("login") == github_api.BOT_LOGIN
        and c.get("body", "").startswith(MARKER)
    ]
    if ours:
        github_api.call(
            "-X", "PATCH", f"repos/{repository}/issues/comments/{ours[0]['id']}", body=body
        )
        return f"updated the comment on pull request #{report.number}"
    github_api.call("-X", "POST", f"repos/{repository}/issues/{report.number}/comments", body=body)
    return f"commented on pull request #{report.number}"


def parse_results(results: str) -> dict[str, str]:
    """'validate=success test=failure' -> {'validate': 'success', 'test': 'failure'}."""
    pairs = (item.partition("=") for item in results.split())
    return {job: result for job, _, result in pairs}


# What each stage's failure means for the reader, and where the details are.
STAGE_FAILURES = {
    "validate": "the data failed its expectation suite",
    "test": "the tests failed (the run's Tests job has the output)",
    "train-evaluate": "training or evaluation failed (the run's Train and evaluate job has "
    "the error)",
}


def report_markdown(
    evaluation: str | None,
    results: dict[str, str],
    run_url: str | None,
    validation: str | None = None,
) -> str:
    """The comment for one pull-request run: the evaluation, or which stage stopped the run
    and why (the validation summary when the data failed)."""
    stopped = {job: result for job, result in results.items() if result != "success"}
    run_link = f" ([run]({run_url}))" if run_url else ""
    if evaluation is not None and not stopped:
        return (
            evaluation.rstrip()
            + "\n\n_A pull request never deploys: after merge, the push run evaluates again "
            f"against the champion of that moment and deploys if the gate passes._{run_link}\n"
        )
    failed = [job for job, result in stopped.items() if result == "failure"]
    first = failed[0] if failed else next(iter(stopped), "the run")
    why = STAGE_FAILURES.get(first, f"the job finished as {stopped.get(first, 'unknown')}")
    lines = [
        "## Pipeline stopped before the model was evaluated",
        f"❌ **Stopped at `{first}`: {why}.** Nothing was compared with the champion for this "
        "commit, so this pull request would not deploy.",
        "",
    ]
    if validation and first == "validate":
        lines += [validation.strip().replace("## Data validation", "### Data validation", 1), ""]
    lines += [
        "| job | result |",
        "| --- | --- |",
        *[f"| {job} | {result} |" for job, result in results.items()],
        "",
        f"Open {f'[the run]({run_url})' if run_url else 'the run'}, fix the first job that "
        "failed and push again.",
    ]
    return "\n".join(lines) + "\n"


def write_report(directory: Path, number: int, markdown: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / REPORT_FILE).write_text(markdown, encoding="utf-8")
    (directory / PULL_REQUEST_FILE).write_text(json.dumps({"number": number}) + "\n")

"""Tell people about drift: one open GitHub issue with the report (a comment on it for each
further finding, never a pile of issues), and, if configured, a retraining run.

Runs in the monitor workflow's notifying jobs with a token that may write issues or start
workflows. Standard library only, so those jobs install nothing.
"""

import json
from pathlib import Path
from urllib.parse import quote

from mlops import github_api
from mlops.errors import PipelineError
from mlops.markdown import cell, cut_to_fit

MARKER = "<!-- model-drift -->"
LABEL = "model-drift"
# GitHub refuses issue bodies and comments over 65,536 characters.
MAX_BODY_CHARS = 60_000
MAX_FILE_BYTES = 1024 * 1024
PIPELINE_WORKFLOW = "pipeline.yml"


def read_finding(report_file: Path, result_file: Path) -> tuple[str, dict]:
    """drift.md and drift.json from the monitor job's artifact, size-capped."""
    for path in (report_file, result_file):
        if not path.is_file() or path.stat().st_size > MAX_FILE_BYTES:
            raise PipelineError(f"{path}: not a file of at most {MAX_FILE_BYTES} bytes")
    try:
        return report_file.read_text("utf-8"), json.loads(result_file.read_text("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PipelineError(f"{result_file.parent}: unreadable drift report: {error}") from None


def drifted_outputs(result: dict) -> list[str]:
    """Besides the features, what drifted, in words: the predictions, the target's classes."""
    target = result.get("target") or {}
    moved = (
        ("the predictions", result["prediction"]["drifted"]),
        ("the target's classes", bool(target.get("drifted"))),
    )
    return [words for words, drifted in moved if drifted]


def title(result: dict) -> str:
    champion = result["champion"]
    what = ", ".join(result["drifted_features"][:3]) or " and ".join(drifted_outputs(result))
    more = len(result["drifted_features"]) - 3
    return (
        f"Data drift in {what}{f' and {more} more' if more > 0 else ''}: "
        f"{champion['name']} v{champion['version']}"
    )[:250]


def open_or_comment(repository: str, report: str, result: dict, run_url: str | None) -> str:
    """Open the drift issue, or comment on the one already open; returns what was done."""
    note = "\n\n_Report cut to fit an issue"
    note += f": the whole report is in the [run summary]({run_url})._" if run_url else "._"
    text = cut_to_fit(report.replace(MARKER, ""), MAX_BODY_CHARS, note)
    if run_url:
        text += f"\n\n[Monitoring run]({run_url}) · plots in its `drift` artifact."
    issues = github_api.every_page(
        f"repos/{repository}/issues?state=open&labels={quote(LABEL)}&per_page=100"
    )
    ours = [
        issue
        for issue in issues
        if "pull_request" not in issue
        and issue.get("user", {}).get("login") == github_api.BOT_LOGIN
        and issue.get("body", "").startswith(MARKER)
    ]
    if ours:
        number = ours[0]["number"]
        github_api.call(
            "-X", "POST", f"repos/{repository}/issues/{number}/comments", body={"body": text}
        )
        return f"commented on drift issue #{number}"
    issue = github_api.call(
        "-X",
        "POST",
        f"repos/{repository}/issues",
        body={"title": title(result), "body": f"{MARKER}\n{text}", "labels": [LABEL]},
    )
    return f"opened drift issue #{issue['number']}: {cell(issue.get('title', ''))}"


def start_retraining(repository: str, ref: str) -> str:
    """Run the pipeline workflow on `ref` (the default branch): it trains on the data there,
    compares with the champion and deploys only if the gate passes."""
    github_api.call(
        "-X",
        "POST",
        f"repos/{repository}/actions/workflows/{PIPELINE_WORKFLOW}/dispatches",
        body={"ref": ref},
    )
    return f"started {PIPELINE_WORKFLOW} on {ref} to retrain"

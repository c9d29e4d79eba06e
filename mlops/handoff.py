"""The small JSON files through which one step hands its results to the next."""

import json
import os
from pathlib import Path
from typing import Any

from mlops.config import Config
from mlops.errors import PipelineError
from mlops.markdown import cut_to_fit

OUTPUTS_ENV_VAR = "PIPELINE_OUTPUTS"
TRAINING_FILE = "training.json"
EVALUATION_FILE = "evaluation.json"
EVALUATION_REPORT = "evaluation.md"
HOLDOUT_PREDICTIONS = "holdout_predictions.csv"
DEPLOYMENT_FILE = "deployment.json"
VALIDATION_FILE = "validation.json"
VALIDATION_REPORT = "validation.md"
# GitHub refuses a step summary over 1 MiB; this leaves room for the cut note.
SUMMARY_LIMIT_BYTES = 1_000_000


def outputs_dir(config: Config) -> Path:
    """Where steps write their results: $PIPELINE_OUTPUTS, else outputs/ beside the config."""
    directory = Path(os.environ.get(OUTPUTS_ENV_VAR) or config.root / "outputs")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def write_json(path: Path, content: dict[str, Any]) -> None:
    # Write then rename, so a reader never sees half a file.
    partial = path.with_suffix(path.suffix + ".partial")
    partial.write_text(json.dumps(content, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    partial.replace(path)


def read_json(path: Path, produced_by: str) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{path}: not found; run {produced_by} first") from None
    except json.JSONDecodeError as error:
        raise PipelineError(f"{path}: not valid JSON ({error}); run {produced_by} again") from None


def github_output(values: dict[str, str]) -> None:
    """Append step outputs for GitHub Actions; a no-op outside it."""
    target = os.environ.get("GITHUB_OUTPUT")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.writelines(f"{key}={value}\n" for key, value in values.items())


def on_pull_request() -> bool:
    """Whether this is a GitHub Actions run for a pull request (which never deploys)."""
    return os.environ.get("GITHUB_EVENT_NAME", "").startswith("pull_request")


def github_run_url() -> str | None:
    """This workflow run's page on GitHub Actions; None outside it."""
    parts = [os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")]
    return f"{parts[0]}/{parts[1]}/actions/runs/{parts[2]}" if all(parts) else None


def fit_summary(markdown: str, limit: int = SUMMARY_LIMIT_BYTES) -> str:
    """The markdown cut to `limit` UTF-8 bytes with a note, whole lines only."""
    note = "\n\n_…cut here to fit GitHub's limit for a job summary; the artifacts hold it all._"
    return cut_to_fit(markdown, limit, note, size=lambda text: len(text.encode()))


def github_summary(markdown: str) -> None:
    """Append to the job summary on GitHub Actions (cut to fit its limit); a no-op outside it."""
    markdown = fit_summary(markdown)
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(markdown.rstrip() + "\n\n")


def shown_path(path: Path) -> str:
    """A path as a terminal shows it: relative to the working directory when below it."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative

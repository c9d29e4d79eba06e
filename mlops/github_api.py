"""The GitHub REST calls the notifying jobs and `make doctor` make, through the `gh` CLI (its
token in GH_TOKEN, or the login of `gh auth login`). Standard library only: those jobs install
nothing."""

import json
import re
import shutil
import subprocess
from typing import Any

from mlops.errors import PipelineError

# Comments and issues the workflows write appear under this login.
BOT_LOGIN = "github-actions[bot]"
# gh's exit code when it has no token (cmdutil.ExitAuthError).
GH_NO_TOKEN = 4
# How gh reports an error answer: "gh: Not Found (HTTP 404)".
HTTP_STATUS = re.compile(r"\(HTTP (\d{3})\)")


class GitHubError(PipelineError):
    """GitHub answered a `gh api` call with an error status."""

    def __init__(self, message: str, status: int | None) -> None:
        super().__init__(message)
        self.status = status


def _parse_pages(output: str) -> list[dict]:
    """`gh api --paginate` prints one JSON array per page, back to back."""
    decoder, items, position = json.JSONDecoder(), [], 0
    output = output.strip()
    while position < len(output):
        page, position = decoder.raw_decode(output, position)
        items += page
        while position < len(output) and output[position].isspace():
            position += 1
    return items


def _gh_api(args: list[str], body: dict | None = None) -> str:
    """stdout of `gh api ARGS`; one PipelineError for every way it can fail."""
    endpoint = args[-1]
    if shutil.which("gh") is None:
        raise PipelineError("the GitHub CLI `gh` is not installed (https://cli.github.com)")
    command = ["gh", "api", *args] + (["--input", "-"] if body is not None else [])
    try:
        result = subprocess.run(
            command,
            input=json.dumps(body) if body is not None else None,
            capture_output=True,
            text=True,
            timeout=120,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise PipelineError(f"gh api {endpoint}: {error}") from None
    if result.returncode == GH_NO_TOKEN:
        raise PipelineError(
            "gh has no GitHub token: run `gh auth login`, or set GH_TOKEN to a token"
        )
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip()
        status = HTTP_STATUS.search(message)
        raise GitHubError(f"gh api {endpoint}: {message}", int(status[1]) if status else None)
    return result.stdout


def call(*args: str, body: dict | None = None) -> Any:
    """`gh api ARGS`, with `body` as the JSON request; the response's JSON (None if empty)."""
    output = _gh_api(list(args), body)
    return json.loads(output) if output.strip() else None


def get(endpoint: str) -> Any:
    """GET `endpoint`'s JSON, or None when GitHub answers 404 (no such thing)."""
    try:
        return call(endpoint)
    except GitHubError as error:
        if error.status == 404:
            return None
        raise


def every_page(endpoint: str) -> list[dict]:
    """Every item of a paginated list endpoint."""
    return _parse_pages(_gh_api(["--paginate", endpoint]))

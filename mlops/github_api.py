"""The GitHub REST calls the notifying jobs make, through the `gh` CLI (its token in
GH_TOKEN). Standard library only: those jobs install nothing."""

import json
import subprocess
from typing import Any

from mlops.errors import PipelineError

# Comments and issues the workflows write appear under this login.
BOT_LOGIN = "github-actions[bot]"


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


def call(*args: str, body: dict | None = None) -> Any:
    """`gh api ARGS`, with `body` as the JSON request; the response's JSON (None if empty)."""
    command = ["gh", "api", *args]
    if body is not None:
        command += ["--input", "-"]
    result = subprocess.run(
        command,
        input=json.dumps(body) if body is not None else None,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise PipelineError(f"gh api {args[-1]}: {(result.stderr or result.stdout).strip()}")
    return json.loads(result.stdout) if result.stdout.strip() else None


def every_page(endpoint: str) -> list[dict]:
    """Every item of a paginated list endpoint."""
    command = ["gh", "api", "--paginate", endpoint]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise PipelineError(f"gh api {endpoint}: {(result.stderr or result.stdout).strip()}")
    return _parse_pages(result.stdout)

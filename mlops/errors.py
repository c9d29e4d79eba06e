"""The exception types for failures a user can cause, and the wrapper that reports them."""

import sys
from collections.abc import Callable


class PipelineError(Exception):
    """A failure the user can fix (bad data, bad config, unreachable server, refused deploy).

    Steps let it propagate to `run_script` (or the one-process runner), which prints
    "error: <prefix><message>" and exits with `exit_code`, without a traceback.
    """

    exit_code = 2
    prefix = ""


class Refused(PipelineError):
    """A deploy or rollback was refused: the evidence does not show this model should ship."""

    exit_code = 3
    prefix = "deploy refused: "


class GateRejected(Refused):
    """The evaluation ran fine and said no: a normal outcome, not a broken pipeline."""


def report_error(error: PipelineError) -> int:
    """Print the one line a user sees for `error`; returns the exit code that goes with it."""
    print(f"error: {error.prefix}{error}", file=sys.stderr)
    return error.exit_code


def run_script(main: Callable[[], int]) -> None:
    """Run a script's `main`, turning `PipelineError` into one clear line on stderr."""
    try:
        code = main()
    except PipelineError as error:
        code = report_error(error)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)

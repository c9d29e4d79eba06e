"""The one exception type for failures a user can cause, and the wrapper that reports it."""

import sys
from collections.abc import Callable


class PipelineError(Exception):
    """A failure the user can fix (bad data, bad config, unreachable server, refused deploy).

    Scripts let it propagate to `run_script`, which prints its message and exits non-zero
    without a traceback.
    """


EXIT_USER_ERROR = 2


def run_script(main: Callable[[], int]) -> None:
    """Run a script's `main`, turning `PipelineError` into one clear line on stderr."""
    try:
        code = main()
    except PipelineError as error:
        print(f"error: {error}", file=sys.stderr)
        code = EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)

"""What every top-level script shares: its argument parser and what gets printed.

Light on purpose: a script parses its arguments (and answers --help) before anything heavy
is imported.
"""

import argparse
import logging
import os
import sys

# Libraries whose INFO lines (store migrations, progress) are noise in a step's output.
CHATTY_LOGGERS = ("mlflow", "alembic", "great_expectations", "py.warnings")
VERBOSE_ENV_VAR = "VERBOSE"
# The steps' own messages: one plain line each on stdout.
STEP_LOGGER = "mlops"


def script_parser(doc: str) -> argparse.ArgumentParser:
    """A parser with the options every script takes: --config and --verbose."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--config", help="config file (default: config.yaml or $PIPELINE_CONFIG)")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help=f"show the libraries' own log lines (also ${VERBOSE_ENV_VAR}=1)",
    )
    return parser


def configure_logging(verbose: bool = False) -> None:
    """The steps' messages on stdout; only warnings from MLflow, alembic and Great
    Expectations, unless asked for more."""
    verbose = verbose or os.environ.get(VERBOSE_ENV_VAR, "") not in ("", "0", "false")
    level = logging.INFO if verbose else logging.WARNING
    # MLflow sets its own loggers' level when it is imported, which is after this.
    os.environ["MLFLOW_LOGGING_LEVEL"] = logging.getLevelName(level)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(level)
    steps = logging.getLogger(STEP_LOGGER)
    if not steps.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        steps.addHandler(handler)
    steps.setLevel(logging.INFO)
    steps.propagate = False


def parse_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the command line and set up what gets printed."""
    args = parser.parse_args()
    configure_logging(args.verbose)
    return args

"""What every top-level script shares: its argument parser and how much libraries may say."""

import argparse
import logging
import os

# Libraries whose INFO lines (store migrations, progress) are noise in a step's output.
CHATTY_LOGGERS = ("mlflow", "alembic", "great_expectations", "py.warnings")
VERBOSE_ENV_VAR = "VERBOSE"


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
    """Only warnings from MLflow, alembic and Great Expectations, unless asked for more."""
    verbose = verbose or os.environ.get(VERBOSE_ENV_VAR, "") not in ("", "0", "false")
    level = logging.INFO if verbose else logging.WARNING
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(level)


def parse_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the command line and set the libraries' log level from it."""
    args = parser.parse_args()
    configure_logging(args.verbose)
    return args

"""Adapt the template to a CSV: draft config.yaml and an expectation suite from its profile.

`--suite-only` redrafts just the suite for the data config.yaml names (`make suite`).
Refuses to replace a config or suite that was written by hand or edited since it was
drafted, unless --force. Exit codes: 0 drafted, 2 unusable data, target or existing files.
"""

from pathlib import Path

from mlops.cli import parse_args, script_parser
from mlops.config import load_config, resolve_config_path
from mlops.errors import run_script


def main() -> int:
    parser = script_parser(__doc__)
    parser.add_argument("--data", type=Path, help="the CSV, inside the project (e.g. data/x.csv)")
    parser.add_argument("--target", help="the column to predict")
    parser.add_argument(
        "--task", choices=["classification", "regression"], help="default: inferred"
    )
    parser.add_argument("--positive", help="classification: the class the metrics are about")
    parser.add_argument("--suite-only", action="store_true", help="redraft only the suite")
    parser.add_argument("--force", action="store_true", help="replace files a user has edited")
    args = parse_args(parser)

    from mlops.adapt import describe, draft_project, redraft_suite

    if args.suite_only:
        draft = redraft_suite(load_config(args.config), args.force)
    else:
        if not args.data or not args.target:
            parser.error("--data and --target are required (make adapt DATA=... TARGET=...)")
        draft = draft_project(
            resolve_config_path(args.config),
            args.data,
            args.target,
            args.task,
            args.positive,
            args.force,
        )
    print(describe(draft))
    return 0


if __name__ == "__main__":
    run_script(main)

"""Validate the dataset against the Great Expectations suite in gx/ before anything uses it.

Writes outputs/validation.json (GX's full result), outputs/validation.md and the Data Docs.
Exit codes: 0 valid, 1 expectations failed, 2 the data or config could not be read.
"""

from mlops.cli import parse_args, script_parser
from mlops.errors import run_script


def main() -> int:
    parser = script_parser(__doc__)
    parser.add_argument("--data", help="validate this CSV instead of data.path from the config")
    args = parse_args(parser)

    from mlops.config import load_config

    config = load_config(args.config)  # a config mistake is answered before heavy imports

    from mlops.steps.validate import validate

    data_path = None if args.data is None else config.root / args.data
    return validate(config, data_path).exit_code


if __name__ == "__main__":
    run_script(main)

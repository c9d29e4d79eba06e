"""Score a CSV file with the champion model: predictions (and class probabilities) beside the input.

The input is checked against the model's signature first; a missing column or a wrong type
stops with one message per column. The champion's files are checked against the fingerprint
recorded at deploy, then loaded with skops and the trust list recorded with them.
Exit codes: 0 scored, 2 unusable input, config, model or tracking server.
"""

from pathlib import Path

from mlops.cli import parse_args, script_parser
from mlops.errors import run_script


def main() -> int:
    parser = script_parser(__doc__)
    parser.add_argument("input", type=Path, help="CSV file with the model's feature columns")
    parser.add_argument("--output", type=Path, help="default: <input>.predictions.csv")
    parser.add_argument("--model-uri", help="default: models:/<registered_model>@<champion_alias>")
    args = parse_args(parser)

    from mlops.config import load_config

    config = load_config(args.config)  # a config mistake is answered before heavy imports

    from mlops.scoring import score_csv

    score_csv(config, args.input, args.output, args.model_uri)
    return 0


if __name__ == "__main__":
    run_script(main)

"""Train the configured scikit-learn pipeline and log it, its data and its parameters to MLflow.

Writes outputs/training.json (run id, model URI, data fingerprints) for evaluate_model.py.
Exit codes: 0 trained, 2 the data, config or tracking server was unusable.
"""

from mlops.cli import parse_args, script_parser
from mlops.errors import run_script


def main() -> int:
    args = parse_args(script_parser(__doc__))

    from mlops.config import load_config

    config = load_config(args.config)  # a config mistake is answered before heavy imports

    from mlops.steps.train import train

    train(config)
    return 0


if __name__ == "__main__":
    run_script(main)

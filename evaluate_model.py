"""Score the trained model on the held-out rows, compare it with the champion, apply the gate.

Writes outputs/evaluation.json, outputs/evaluation.md and outputs/holdout_predictions.csv.
A failed gate is a normal outcome: the exit code is 0 either way, the decision is in the files
(and in $GITHUB_OUTPUT / $GITHUB_STEP_SUMMARY on GitHub Actions).
Exit codes: 0 evaluated, 2 the inputs, config or tracking server were unusable.
"""

from mlops.cli import parse_args, script_parser
from mlops.errors import run_script


def main() -> int:
    parser = script_parser(__doc__)
    parser.add_argument(
        "--base-ref",
        help="on a pull request, the base branch's commit: flag changes that loosen the gate",
    )
    args = parse_args(parser)

    from mlops.config import load_config

    config = load_config(args.config)  # a config mistake is answered before heavy imports

    from mlops.steps.evaluate import evaluate

    evaluate(config, args.base_ref)
    return 0


if __name__ == "__main__":
    run_script(main)

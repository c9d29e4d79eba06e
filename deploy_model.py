"""Register the evaluated model and make it the champion, if and only if the gate passed;
or, with --rollback, move the champion back to an earlier version.

Refuses (exit 3) unless outputs/evaluation.json says the gate passed for the very run and
model files that train_model.py produced. Everything that can fail (fingerprint, loading,
prediction check, serving check) happens before the alias moves, so a failure leaves the
previous champion serving (mlops/steps/deploy.py).
Exit codes: 0 deployed (or nothing to do with --skip-if-rejected), 2 unusable inputs or
tracking server, 3 refused.
"""

from mlops.cli import parse_args, script_parser
from mlops.errors import run_script


def main() -> int:
    parser = script_parser(__doc__)
    parser.add_argument(
        "--skip-if-rejected",
        action="store_true",
        help="exit 0 with a message when the gate rejected the model (local pipeline runs)",
    )
    parser.add_argument(
        "--rollback",
        action="store_true",
        help="move the champion alias back to @previous_champion (or --to-version) instead",
    )
    parser.add_argument("--to-version", help="with --rollback: the version to make champion")
    parser.add_argument("--reason", default="", help="with --rollback: why (tagged on the version)")
    args = parse_args(parser)
    if (args.to_version or args.reason) and not args.rollback:
        parser.error("--to-version and --reason go with --rollback")

    from mlops.config import load_config

    config = load_config(args.config)  # a config mistake is answered before heavy imports

    from mlops.steps.deploy import deploy, rollback

    if args.rollback:
        rollback(config, args.to_version, args.reason)
    else:
        deploy(config, args.skip_if_rejected)
    return 0


if __name__ == "__main__":
    run_script(main)

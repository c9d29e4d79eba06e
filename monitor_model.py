"""Compare a batch of new data with what the champion was trained on: per-feature drift,
new columns and drift of the predictions.

The batch is --data, else monitoring.data in the config (a path, a glob or an http(s) URL).
Writes outputs/drift.json, outputs/drift.md and a plot per drifted feature in outputs/drift/.
Exit codes: 0 monitored (drift is a finding, not an error; with --skip-unconfigured also
when there is nothing to monitor), 1 drift found with --fail-on-drift, 2 unusable batch,
config, champion or tracking server.
"""

from mlops.cli import parse_args, script_parser
from mlops.errors import run_script


def main() -> int:
    parser = script_parser(__doc__)
    parser.add_argument(
        "--data", help="the batch: a CSV path, glob or URL (default: monitoring.data)"
    )
    parser.add_argument("--fail-on-drift", action="store_true", help="exit 1 when anything drifted")
    parser.add_argument(
        "--skip-unconfigured",
        action="store_true",
        help="exit 0 with a note when no batch is given or configured (scheduled runs)",
    )
    args = parse_args(parser)

    from mlops.config import load_config

    config = load_config(args.config)  # a config mistake is answered before heavy imports

    from mlops.steps.monitor import monitor, not_configured

    if args.skip_unconfigured and not (args.data or config.monitoring.data):
        not_configured(config)
        return 0
    monitored = monitor(config, args.data)
    return 1 if monitored.drifted and args.fail_on_drift else 0


if __name__ == "__main__":
    run_script(main)

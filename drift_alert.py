"""Tell people about drift found by monitor_model.py (the monitor workflow's notifying jobs).

  issue     open one GitHub issue with the drift report, or comment on the one already open
  retrain   start the pipeline workflow on the default branch (monitoring.on_drift: retrain)

Needs `gh` with GH_TOKEN and GITHUB_REPOSITORY. Standard library only, so the notifying jobs
install nothing. Exit codes: 0 done, 2 refused or failed.
"""

import argparse
import os
from pathlib import Path

from mlops.errors import PipelineError, run_script


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    issue = commands.add_parser("issue", help="open or comment on the drift issue")
    issue.add_argument("--report", type=Path, required=True, help="drift.md")
    issue.add_argument("--result", type=Path, required=True, help="drift.json")
    retrain = commands.add_parser("retrain", help="start the pipeline workflow")
    retrain.add_argument("--ref", required=True, help="branch to run it on")
    args = parser.parse_args()

    from mlops.drift_alert import open_or_comment, read_finding, start_retraining

    repository = os.environ.get("GITHUB_REPOSITORY")
    if not repository:
        raise PipelineError("set GITHUB_REPOSITORY=owner/name")
    if args.command == "issue":
        report, result = read_finding(args.report, args.result)
        print(open_or_comment(repository, report, result, os.environ.get("RUN_URL")))
    else:
        print(start_retraining(repository, args.ref))
    return 0


if __name__ == "__main__":
    run_script(main)

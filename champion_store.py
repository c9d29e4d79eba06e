"""Keep the champion in GitHub Releases when there is no tracking server.

  restore   before training: bring the published champion and registry history into the
            embedded store (nothing to do on a first run), checking their fingerprints.
  publish   after a deploy or rollback: store the local champion as the published one;
            refused if another deploy or rollback published since this run restored.

Both do nothing when MLFLOW_TRACKING_URI is set: the server is then the source of truth.
Needs `gh` with a token in GH_TOKEN and GITHUB_REPOSITORY=owner/name (set on GitHub Actions).
Exit codes: 0 done (or nothing to do), 2 unusable store, release or config.
"""

import getpass
import os

from mlops.cli import parse_args, script_parser
from mlops.errors import run_script


def main() -> int:
    parser = script_parser(__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    restore = commands.add_parser("restore", help="bring the published champion in")
    restore.add_argument("--force", action="store_true", help="replace a local mlflow.db")
    publish = commands.add_parser("publish", help="publish the local champion")
    publish.add_argument("--event", choices=["deploy", "rollback"], required=True)
    publish.add_argument("--reason", default="", help="why (recorded in the history)")
    args = parse_args(parser)

    from mlops import champion_store
    from mlops.config import load_config
    from mlops.github_releases import Releases
    from mlops.handoff import github_summary
    from mlops.tracking import embedded_tracking_uri, tracking_errors

    config = load_config(args.config)
    if champion_store.server_configured():
        print("MLFLOW_TRACKING_URI is set: the tracking server holds the champion; nothing to do")
        return 0
    releases = Releases.from_environment()
    with tracking_errors(embedded_tracking_uri(config.root)):
        if args.command == "restore":
            message = champion_store.restore(config, releases, force=args.force).message
        else:
            actor = os.environ.get("GITHUB_ACTOR") or getpass.getuser()
            message = champion_store.publish(config, releases, args.event, actor, args.reason)
    print(message)
    github_summary(f"Champion store: {message}.")
    return 0


if __name__ == "__main__":
    run_script(main)

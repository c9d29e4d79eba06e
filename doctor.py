"""Check the GitHub settings a copy of this template needs (make doctor).

Reads the repository with `gh` (read-only: `gh auth login` as an admin of it, or GH_TOKEN) and
prints what is set, what needs a click (with the settings page that fixes it), and how the
repository will behave: Actions and the workflows, workflow permissions, the production
environment, Issues for the drift alert, mutable releases for the champion store, CODEOWNERS and
the rule that requires the code owners' review, the tracking-server secrets, the self-tests.
The repository is --repo, else $GITHUB_REPOSITORY, else the checkout's origin remote.
Exit codes: 0 nothing to do, 1 something needs a click, 2 no gh, no token, no such repository
or no access to its settings.
"""

import os
import subprocess

from mlops.cli import parse_args, script_parser
from mlops.errors import PipelineError, run_script


def repository_name(given: str | None) -> str:
    from mlops.doctor import repository_from_remote

    if given or os.environ.get("GITHUB_REPOSITORY"):
        return given or os.environ["GITHUB_REPOSITORY"]
    origin = subprocess.run(
        ["git", "remote", "get-url", "origin"], capture_output=True, text=True, check=False
    ).stdout
    name = repository_from_remote(origin)
    if name is None:
        raise PipelineError(
            "which repository? This checkout has no GitHub origin remote: "
            "run `make doctor REPO=owner/name`"
        )
    return name


def main() -> int:
    parser = script_parser(__doc__)
    parser.add_argument("--repo", help="owner/name (default: $GITHUB_REPOSITORY, else origin)")
    args = parse_args(parser)

    from mlops import doctor

    repository = repository_name(args.repo)
    settings = doctor.read_settings(repository)
    # Only the monitoring section: the checkout need not hold the data nor build the model.
    from mlops.config import REPO_ROOT, monitoring_section

    project = doctor.project_files(REPO_ROOT, monitoring_section(args.config).data)
    findings = doctor.diagnose(settings, project)
    print(doctor.report(repository, findings))
    return doctor.exit_code(findings)


if __name__ == "__main__":
    run_script(main)

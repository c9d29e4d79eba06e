"""The pull-request comment: written by the pull-request run, posted by a trusted job.

  prepare   (pull-request run, read-only token) write REPORT_DIR/comment.md and
            pull_request.json: the evaluation report, or which job stopped the run.
  post      (pr-comment.yml, allowed to comment) read a report uploaded by a pull-request
            run, possibly from a fork, as untrusted data; check that the pull request's head
            is HEAD_SHA, the commit that run built; create or update the one sticky comment.

post needs `gh` with GH_TOKEN, GITHUB_REPOSITORY and HEAD_SHA. Standard library only, so the
commenting job installs nothing. Exit codes: 0 done, 2 refused or failed.
"""

import argparse
import os
from pathlib import Path

from mlops.errors import PipelineError, run_script
from mlops.pr_comment import parse_results, post, read_report, report_markdown, write_report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prepare = commands.add_parser("prepare", help="write the report of a pull-request run")
    prepare.add_argument("--number", type=int, required=True, help="pull request number")
    prepare.add_argument("--evaluation", type=Path, help="evaluation.md, if the run got there")
    prepare.add_argument("--validation", type=Path, help="validation.md, if validation ran")
    prepare.add_argument("--results", default="", help="'job=result ...' of the run's jobs")
    prepare.add_argument("--out", type=Path, required=True, help="report folder to write")
    posting = commands.add_parser("post", help="post a downloaded report as the comment")
    posting.add_argument("report_dir", type=Path)
    args = parser.parse_args()

    run_url = os.environ.get("RUN_URL")
    if args.command == "prepare":
        evaluation, validation = (
            path.read_text("utf-8") if path is not None and path.is_file() else None
            for path in (args.evaluation, args.validation)
        )
        markdown = report_markdown(evaluation, parse_results(args.results), run_url, validation)
        write_report(args.out, args.number, markdown)
        print(f"report for pull request #{args.number} written to {args.out}")
        return 0
    missing = [k for k in ("GITHUB_REPOSITORY", "HEAD_SHA") if not os.environ.get(k)]
    if missing:
        raise PipelineError(f"set {', '.join(missing)}")
    report = read_report(args.report_dir)
    print(post(os.environ["GITHUB_REPOSITORY"], report, os.environ["HEAD_SHA"], run_url))
    return 0


if __name__ == "__main__":
    run_script(main)

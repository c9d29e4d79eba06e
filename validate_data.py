"""Validate the dataset against the Great Expectations suite in gx/ before anything uses it.

Exit codes: 0 valid, 1 expectations failed, 2 the data or config could not be read.
"""

import os

from mlops.cli import parse_args, script_parser
from mlops.config import load_config
from mlops.data import load_dataset
from mlops.errors import run_script
from mlops.handoff import (
    VALIDATION_FILE,
    VALIDATION_REPORT,
    github_output,
    github_run_url,
    github_summary,
    outputs_dir,
    write_json,
)
from mlops.validation import summary_markdown, validate_frame


def main() -> int:
    parser = script_parser(__doc__)
    parser.add_argument("--data", help="validate this CSV instead of data.path from the config")
    args = parse_args(parser)

    config = load_config(args.config)
    data_path = config.data_path if args.data is None else config.root / args.data
    report = validate_frame(load_dataset(data_path, config.data.max_file_mb), config)

    result_path = outputs_dir(config) / VALIDATION_FILE
    write_json(result_path, report.result)
    suite_path = f"gx/expectations/{config.data.expectation_suite}.json"
    summary = summary_markdown(
        report, os.path.relpath(data_path, config.root), suite_path, github_run_url()
    )
    (outputs_dir(config) / VALIDATION_REPORT).write_text(summary + "\n", encoding="utf-8")
    github_summary(summary)
    github_output({"valid": str(report.success).lower(), "failed": str(len(report.failed))})

    evaluated = report.evaluated
    if report.success:
        print(f"{data_path.name}: valid ({evaluated} expectations met)")
    else:
        print(
            f"{data_path.name}: INVALID, {len(report.failed)} of {evaluated} expectations failed:"
        )
        for failure in report.failed:
            print(f"  - {failure.describe()}")
    print(f"full result: {result_path}")
    if report.data_docs:
        print(f"data docs:   {report.data_docs}")
    return 0 if report.success else 1


if __name__ == "__main__":
    run_script(main)

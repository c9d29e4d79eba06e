"""Validate the dataset against the Great Expectations suite in gx/ before anything uses it."""

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlops.config import Config
from mlops.data import load_dataset
from mlops.handoff import (
    VALIDATION_FILE,
    VALIDATION_REPORT,
    github_output,
    github_run_url,
    github_summary,
    outputs_dir,
    write_json,
)
from mlops.validation import ValidationReport, summary_markdown, validate_frame

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Validated:
    report: ValidationReport
    data_path: Path

    @property
    def exit_code(self) -> int:
        """0 valid, 1 expectations failed."""
        return 0 if self.report.success else 1


def validate(
    config: Config, data_path: Path | None = None, frame: pd.DataFrame | None = None
) -> Validated:
    """Run the suite on `data_path` (default: data.path), or on `frame` read from it."""
    data_path = data_path or config.data_path
    if frame is None:
        frame = load_dataset(data_path, config.data.max_file_mb)
    report = validate_frame(frame, config, data_path)

    outputs = outputs_dir(config)
    write_json(outputs / VALIDATION_FILE, report.result)
    suite_path = f"gx/expectations/{config.data.expectation_suite}.json"
    summary = summary_markdown(
        report, os.path.relpath(data_path, config.root), suite_path, github_run_url()
    )
    (outputs / VALIDATION_REPORT).write_text(summary + "\n", encoding="utf-8")
    github_summary(summary)
    github_output({"valid": str(report.success).lower(), "failed": str(len(report.failed))})

    if report.success:
        log.info(f"{data_path.name}: valid ({report.evaluated} expectations met)")
    else:
        log.info(
            f"{data_path.name}: INVALID, {len(report.failed)} of {report.evaluated} "
            "expectations failed:"
        )
        for failure in report.failed:
            log.info(f"  - {failure.describe()}")
    log.info(f"full result: {outputs / VALIDATION_FILE}")
    if report.data_docs:
        log.info(f"data docs:   {report.data_docs}")
    return Validated(report, data_path)

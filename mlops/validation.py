"""Run the Great Expectations suite kept in gx/ against the data, and summarise what failed."""

import logging
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlops.config import Config
from mlops.data import line_numbers
from mlops.errors import PipelineError
from mlops.markdown import Table, cell, some

# The DataFrame is handed over at run time, so nothing in gx/ holds a path to the data.
DATASOURCE = "pipeline"
ASSET = "dataset"
BATCH = "whole_dataframe"
EXAMPLES_SHOWN = 5
# Failed rules listed in the summary; the full result has every one.
MAX_TABLE_ROWS = 50


@dataclass(frozen=True)
class FailedExpectation:
    """One failed rule. `rows` are data-row numbers from 0, as pandas numbers them, and
    `lines` the file's lines they start on (the header is line 1), one per row when known;
    `error` is the library's own message when the rule could not be evaluated, and `finding`
    what the data shows instead (such as text in a numeric column)."""

    column: str
    rule: str
    observed: Any
    examples: list[str] = field(default_factory=list)  # distinct values, as the file has them
    error: str | None = None
    rows: list[int] = field(default_factory=list)
    finding: str | None = None
    lines: list[int] = field(default_factory=list)

    def describe(self) -> str:
        text = f"{self.column}: {self.rule}"
        if self.error:
            text += f": could not be evaluated ({self.error})"
        elif self.observed is not None:
            text += f"; observed {self.observed}"
        if self.finding:
            text += f"; {self.finding}"
        if self.examples:
            text += f"; e.g. {', '.join(self.examples)}"
        rows = ", ".join(map(str, self.rows))
        if self.lines:
            text += f"; lines {', '.join(map(str, self.lines))} (rows {rows} from 0)"
        elif self.rows:
            text += f"; rows {rows} (from 0)"
        return text


@dataclass(frozen=True)
class ValidationReport:
    success: bool
    evaluated: int
    failed: list[FailedExpectation]
    result: dict[str, Any]
    data_docs: str | None


def _column_of(kwargs: dict[str, Any]) -> str:
    if "column" in kwargs:
        return str(kwargs["column"])
    if "column_list" in kwargs:
        return "(rows)"
    return "(table)"


def _observed(result: dict[str, Any]) -> Any:
    if "observed_value" in result:
        return result["observed_value"]
    if result.get("unexpected_count"):
        share = result.get("unexpected_percent")
        suffix = f" ({share:.2f}% of rows)" if share is not None else ""
        return f"{result['unexpected_count']} unexpected value(s){suffix}"
    return None


def _error(exception_info: dict[str, Any] | None) -> str | None:
    """The library's message for a rule it could not evaluate. GX 1.x reports it either
    directly or keyed by the id of each metric that failed to resolve."""
    if not exception_info:
        return None
    entries = [exception_info, *(v for v in exception_info.values() if isinstance(v, dict))]
    for entry in entries:
        if entry.get("raised_exception") and entry.get("exception_message"):
            return str(entry["exception_message"]).splitlines()[0]
    return None


def _non_numbers(values: pd.Series) -> tuple[str, list[str], list[int]] | None:
    """For a numeric rule on a column that arrived as text: how many values are not
    numbers, the commonest of them with their counts, and the first rows holding one."""
    if pd.api.types.is_numeric_dtype(values):
        return None
    bad = values[pd.to_numeric(values, errors="coerce").isna() & values.notna()]
    if bad.empty:
        return None
    counts = bad.value_counts().head(EXAMPLES_SHOWN)
    shown = [f"{value!r} ×{count}" for value, count in counts.items()]
    rows = [int(i) for i in bad.index[:EXAMPLES_SHOWN]]
    return f"{len(bad)} value(s) are not numbers", shown, rows


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _whole_numbers(values: pd.Series) -> bool:
    """Whether a numeric column holds only whole numbers (pandas reads an integer column
    with a gap as floats: 3.0 there is the file's 3)."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    present = values.dropna()
    return bool((present == present.round()).all())


def _shown(value: Any, whole_numbers: bool) -> str:
    """A value as the file holds it: text quoted, a whole number without ".0" in a column of
    whole numbers."""
    if whole_numbers and isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return repr(value.item() if isinstance(value, np.generic) else value)


def _failure(result: Any, frame: pd.DataFrame) -> FailedExpectation:
    config = result.expectation_config
    details = result.result or {}
    column = _column_of(config.kwargs)
    whole = column in frame.columns and _whole_numbers(frame[column])
    rule = config.type.removeprefix("expect_").replace("_", " ")
    if config.kwargs.get("mostly") is not None:
        rule += f" (for at least {config.kwargs['mostly']:.0%} of rows)"
    bounds = {
        k: config.kwargs[k] for k in ("min_value", "max_value", "type_") if k in config.kwargs
    }
    if "value_set" in config.kwargs:
        bounds["allowed"] = config.kwargs["value_set"]
    if bounds:
        rule += " " + ", ".join(
            f"{k.rstrip('_')}={_shown(v, whole) if k.endswith('_value') else v}"
            for k, v in bounds.items()
        )
    # Missing values say nothing as examples: their rows do.
    unexpected = details.get("partial_unexpected_list") or []
    examples = list(dict.fromkeys(_shown(v, whole) for v in unexpected if not _is_missing(v)))
    rows = [int(i) for i in details.get("partial_unexpected_index_list") or []]
    finding = None
    numeric_rule = any(k in config.kwargs for k in ("min_value", "max_value"))
    if numeric_rule and column in frame.columns:
        non_numbers = _non_numbers(frame[column])
        if non_numbers:
            finding, examples, rows = non_numbers
    return FailedExpectation(
        column=column,
        rule=rule,
        observed=_observed(details),
        examples=examples[:EXAMPLES_SHOWN],
        error=_error(result.exception_info),
        rows=rows[:EXAMPLES_SHOWN],
        finding=finding,
    )


def checkpoint_for(context: Any, suite: Any) -> Any:
    """The suite's checkpoint from gx/checkpoints/, created (and saved, to commit) on first use.

    Reading the committed definitions instead of re-adding them keeps gx/ unchanged by runs.
    """
    import great_expectations as gx

    name = suite.name
    try:
        return context.checkpoints.get(name)
    except gx.exceptions.DataContextError:
        pass
    try:
        datasource = context.data_sources.get(DATASOURCE)
    except KeyError:
        datasource = context.data_sources.add_pandas(DATASOURCE)
    try:
        asset = datasource.get_asset(ASSET)
    except LookupError:
        asset = datasource.add_dataframe_asset(ASSET)
    try:
        batch = asset.get_batch_definition(BATCH)
    except KeyError:
        batch = asset.add_batch_definition_whole_dataframe(BATCH)
    definition = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch, suite=suite)
    )
    return context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=name,
            validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="data_docs")],
            result_format={"result_format": "SUMMARY"},
        )
    )


def _with_lines(failed: list[FailedExpectation], source: Path) -> list[FailedExpectation]:
    """Each failure's rows with the file lines they start on, read from `source` once."""
    lines = line_numbers(source, {row for item in failed for row in item.rows})
    return [
        replace(item, lines=[lines[row] for row in item.rows])
        if all(row in lines for row in item.rows)
        else item
        for item in failed
    ]


def validate_frame(
    frame: pd.DataFrame, config: Config, source: Path | None = None
) -> ValidationReport:
    """Validate the data against the configured suite; `source`, the file the frame was read
    from, gives the failures' file lines.

    First every rule's verdict alone (GX's BOOLEAN_ONLY: less than half the time of SUMMARY on
    a million rows), which is all that valid data needs. Only when a rule fails does the
    checkpoint run again, with the observed values, the bad values and their rows, and build
    the Data Docs: the same failure report at no cost to the common case."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx  # ~3 s; only this step pays for it

    if not frame.index.equals(pd.RangeIndex(len(frame))):
        # GX reports rows by index label: rows are data rows from 0, whatever the index. They
        # are then no longer the file's rows, so no file lines.
        frame, source = frame.reset_index(drop=True), None
    # GX logs renderer bugs for some failed results as full tracebacks; the docs still build.
    logging.getLogger("great_expectations.render").setLevel(logging.CRITICAL)
    context = gx.get_context(mode="file", project_root_dir=str(config.root))
    suite_name = config.data.expectation_suite
    try:
        suite = context.suites.get(suite_name)
    except Exception:  # GX raises several types for a missing or unreadable suite
        raise PipelineError(
            f"gx/expectations/{suite_name}.json: expectation suite {suite_name!r} "
            "(data.expectation_suite) not found or unreadable"
        ) from None
    checkpoint = checkpoint_for(context, suite)
    (definition,) = checkpoint.validation_definitions
    verdicts = definition.run(
        batch_parameters={"dataframe": frame}, result_format={"result_format": "BOOLEAN_ONLY"}
    )
    if verdicts.success:
        return ValidationReport(
            success=True,
            evaluated=len(verdicts.results),
            failed=[],
            result=verdicts.to_json_dict(),
            data_docs=None,
        )
    run = checkpoint.run(batch_parameters={"dataframe": frame})
    suite_result = next(iter(run.run_results.values()))
    failed = [_failure(r, frame) for r in suite_result.results if not r.success]
    if source is not None:
        failed = _with_lines(failed, source)
    sites = context.get_docs_sites_urls()
    return ValidationReport(
        success=bool(suite_result.success),
        evaluated=len(suite_result.results),
        failed=failed,
        result=suite_result.to_json_dict(),
        data_docs=sites[0]["site_url"] if sites else None,
    )


def summary_markdown(
    report: ValidationReport, data_path: str, suite_path: str, run_url: str | None = None
) -> str:
    """The validation section of a run summary: the verdict and the columns first, then a
    row per failed rule (problem, bad values, file lines and rows), then what to do next."""
    if report.success:
        return (
            f"## Data validation\n✅ `{data_path}` passed all {report.evaluated} rules of "
            f"`{suite_path}`."
        )
    columns = list(dict.fromkeys(item.column for item in report.failed))
    lines = [
        "## Data validation",
        f"❌ **`{data_path}` failed {len(report.failed)} of {report.evaluated} rules**, on "
        f"{len(columns)} column(s): {some(columns, 10, lambda c: cell(c, code=True))}.",
    ]
    shown = report.failed[:MAX_TABLE_ROWS]
    rows = []
    for item in shown:
        problem = []
        if item.error:
            problem.append(f"could not be evaluated: {item.error}")
        elif item.observed is not None:
            problem.append(f"observed {item.observed}")
        if item.finding:
            problem.append(item.finding)
        rows.append(
            [
                item.column,
                item.rule,
                "; ".join(problem),
                ", ".join(item.examples) or None,
                ", ".join(map(str, item.lines)) or None,
                ", ".join(map(str, item.rows)) or None,
            ]
        )
    header = ["column", "rule", "problem", "bad values", "file lines", "rows (from 0)"]
    lines += ["", Table(header, rows).markdown()]
    if len(report.failed) > MAX_TABLE_ROWS:
        lines.append(f"\n_…and {len(report.failed) - MAX_TABLE_ROWS} more rules (full result)._")
    where = (
        f"the `validation` artifact of [this run]({run_url}#artifacts)"
        if run_url
        else (
            f"`outputs/validation.json` and the Data Docs ({report.data_docs})"
            if report.data_docs
            else "`outputs/validation.json`"
        )
    )
    if any(item.lines for item in shown):
        lines += [
            "",
            "File lines are the lines of the file as an editor numbers them (the header is "
            "line 1); rows count the data rows from 0, as pandas does.",
        ]
    elif any(item.rows for item in shown):
        lines += ["", "Rows count the data rows from 0, as pandas does."]
    lines += [
        "",
        f"**Next:** if the data is wrong, fix it at its source and run again; if the data is "
        f"right and a rule is too strict, change the rule in `{suite_path}` (or redraft it with "
        f"`make suite FORCE=1`). The full result and the Data Docs are in {where}.",
    ]
    return "\n".join(lines)

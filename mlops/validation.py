"""Run the Great Expectations suite kept in gx/ against the data, and summarise what failed."""

import logging
import math
import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlops.config import Config
from mlops.errors import PipelineError
from mlops.markdown import cell

# The DataFrame is handed over at run time, so nothing in gx/ holds a path to the data.
DATASOURCE = "pipeline"
ASSET = "dataset"
BATCH = "whole_dataframe"
EXAMPLES_SHOWN = 5
# Failed rules listed in the summary; the full result has every one.
MAX_TABLE_ROWS = 50


@dataclass(frozen=True)
class FailedExpectation:
    """One failed rule. `rows` are data-row numbers from 0 (the file's line is row + 2);
    `error` is the library's own message when the rule could not be evaluated, and `finding`
    what the data shows instead (such as text in a numeric column)."""

    column: str
    rule: str
    observed: Any
    examples: list[str] = field(default_factory=list)  # distinct values, as repr()
    error: str | None = None
    rows: list[int] = field(default_factory=list)
    finding: str | None = None

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
        if self.rows:
            text += f"; rows {', '.join(map(str, self.rows))}"
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


def _failure(result: Any, frame: pd.DataFrame) -> FailedExpectation:
    config = result.expectation_config
    details = result.result or {}
    rule = config.type.removeprefix("expect_").replace("_", " ")
    if config.kwargs.get("mostly") is not None:
        rule += f" (for at least {config.kwargs['mostly']:.0%} of rows)"
    bounds = {
        k: config.kwargs[k] for k in ("min_value", "max_value", "type_") if k in config.kwargs
    }
    if "value_set" in config.kwargs:
        bounds["allowed"] = config.kwargs["value_set"]
    if bounds:
        rule += " " + ", ".join(f"{k.rstrip('_')}={v}" for k, v in bounds.items())
    column = _column_of(config.kwargs)
    # Missing values say nothing as examples: their rows do.
    unexpected = details.get("partial_unexpected_list") or []
    examples = list(dict.fromkeys(repr(v) for v in unexpected if not _is_missing(v)))
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


def validate_frame(frame: pd.DataFrame, config: Config) -> ValidationReport:
    """Validate the data against the configured suite.

    First every rule's verdict alone (GX's BOOLEAN_ONLY: less than half the time of SUMMARY on
    a million rows), which is all that valid data needs. Only when a rule fails does the
    checkpoint run again, with the observed values, the bad values and their rows, and build
    the Data Docs: the same failure report at no cost to the common case."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx  # ~3 s; only this step pays for it

    if not frame.index.equals(pd.RangeIndex(len(frame))):
        # GX reports rows by index label: rows are data rows from 0, whatever the index.
        frame = frame.reset_index(drop=True)
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
    row per failed rule (problem, bad values, rows), then what to do next."""
    if report.success:
        return (
            f"## Data validation\n✅ `{data_path}` passed all {report.evaluated} rules of "
            f"`{suite_path}`."
        )
    columns = list(dict.fromkeys(item.column for item in report.failed))
    lines = [
        "## Data validation",
        f"❌ **`{data_path}` failed {len(report.failed)} of {report.evaluated} rules**, on "
        f"{len(columns)} column(s): {', '.join(cell(c, code=True) for c in columns[:10])}"
        + (f" and {len(columns) - 10} more." if len(columns) > 10 else "."),
        "",
        "| column | rule | problem | bad values | rows |",
        "|---|---|---|---|---|",
    ]
    for item in report.failed[:MAX_TABLE_ROWS]:
        problem = []
        if item.error:
            problem.append(f"could not be evaluated: {item.error}")
        elif item.observed is not None:
            problem.append(f"observed {item.observed}")
        if item.finding:
            problem.append(item.finding)
        lines.append(
            f"| {cell(item.column)} | {cell(item.rule)} | {cell('; '.join(problem))} "
            f"| {cell(', '.join(item.examples)) or '–'} "
            f"| {cell(', '.join(map(str, item.rows))) or '–'} |"
        )
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
    lines += [
        "",
        "Rows count data rows from 0 (the file's line is row + 2).",
        "",
        f"**Next:** if the data is wrong, fix it at its source and run again; if the data is "
        f"right and a rule is too strict, change the rule in `{suite_path}` (or redraft it with "
        f"`make suite FORCE=1`). The full result and the Data Docs are in {where}.",
    ]
    return "\n".join(lines)

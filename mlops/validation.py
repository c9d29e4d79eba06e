"""Run the Great Expectations suite kept in gx/ against the data, and summarise what failed."""

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mlops.config import Config
from mlops.errors import PipelineError

# The DataFrame is handed over at run time, so nothing in gx/ holds a path to the data.
DATASOURCE = "pipeline"
ASSET = "dataset"
BATCH = "whole_dataframe"
EXAMPLES_SHOWN = 5


@dataclass(frozen=True)
class FailedExpectation:
    column: str
    rule: str
    observed: Any
    examples: list[Any] = field(default_factory=list)
    error: str | None = None

    def describe(self) -> str:
        text = f"{self.column}: {self.rule}"
        if self.error:
            return f"{text}: could not be evaluated ({self.error})"
        if self.observed is not None:
            text += f"; observed {self.observed}"
        if self.examples:
            text += f"; e.g. {', '.join(repr(v) for v in self.examples)}"
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


def _failure(result: Any) -> FailedExpectation:
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
    error = None
    if result.exception_info and result.exception_info.get("raised_exception"):
        error = str(result.exception_info.get("exception_message")).splitlines()[0]
    examples = list(details.get("partial_unexpected_list") or [])[:EXAMPLES_SHOWN]
    return FailedExpectation(_column_of(config.kwargs), rule, _observed(details), examples, error)


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
    """Validate the data against the configured suite; builds Data Docs as a side effect."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx  # ~3 s; only this step pays for it

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
    run = checkpoint.run(batch_parameters={"dataframe": frame})
    suite_result = next(iter(run.run_results.values()))
    failed = [_failure(r) for r in suite_result.results if not r.success]
    sites = context.get_docs_sites_urls()
    return ValidationReport(
        success=bool(suite_result.success),
        evaluated=len(suite_result.results),
        failed=failed,
        result=suite_result.to_json_dict(),
        data_docs=sites[0]["site_url"] if sites else None,
    )


def summary_markdown(report: ValidationReport, data_path: str) -> str:
    """The validation section of a run summary."""
    passed = report.evaluated - len(report.failed)
    verdict = "passed" if report.success else "**failed**"
    lines = [
        "## Data validation",
        f"`{data_path}`: {verdict}, {passed} of {report.evaluated} expectations met.",
    ]
    if report.failed:
        lines += ["", "| column | rule | observed | examples |", "|---|---|---|---|"]
        for item in report.failed:
            observed = item.error or ("" if item.observed is None else str(item.observed))
            examples = ", ".join(repr(v) for v in item.examples)
            lines.append(f"| {item.column} | {item.rule} | {observed} | {examples} |")
    return "\n".join(lines)

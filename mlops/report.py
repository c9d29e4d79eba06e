"""Markdown for people: the gate's decision and why, then the table, from evaluation.json."""

from typing import Any

from mlops.charts import chart_from_dict, mermaid, table
from mlops.metrics import METRICS

# A table cell holds at most this many characters of data.
MAX_CELL = 200
# Markdown and HTML that text from the data must not trigger; "@" would notify a user.
_MARKDOWN_SPECIAL = str.maketrans(
    {
        **{c: "\\" + c for c in "\\|`*_[]"},
        **{"<": "&lt;", ">": "&gt;", "&": "&amp;", "@": "&#64;", "\n": " ", "\r": " "},
    }
)


def cell(text: str, code: bool = False) -> str:
    """Text from the data, safe inside a markdown table: no `|` ends the cell, no backtick,
    emphasis, link, tag, entity or mention takes effect, no line break splits the row; long
    text is cut."""
    text = str(text)
    if len(text) > MAX_CELL:
        text = text[: MAX_CELL - 1] + "…"
    if code:  # shown as code: only the backtick and the pipe need care
        return "`" + text.replace("`", "'").replace("|", "\\|").replace("\n", " ") + "`"
    return text.translate(_MARKDOWN_SPECIAL)


def _number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _with_interval(value: float | None, interval: dict | None, signed: bool = False) -> str:
    if interval is None:
        return _number(value, signed)
    low, high = _number(interval["low"], signed), _number(interval["high"], signed)
    return f"{_number(value, signed)} ({low} to {high})"


def _threshold(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    return f"{'≥' if METRICS[metric].greater_is_better else '≤'} {value:.4f}"


def _result(check: dict[str, Any]) -> str:
    judged = check["threshold"] is not None or check["tolerance"] is not None
    if not judged:
        return "·"
    if check["passed"]:
        return "✅ pass"
    return "❌ " + " + ".join(check["failed"])


def _gate_changes(changes: dict[str, Any] | None) -> list[str]:
    if not changes:
        return []
    if changes.get("error"):
        return [f"⚠️ The gate could not be compared with the base branch's: {changes['error']}", ""]
    if not changes["loosened"]:
        return []
    lines = ["⚠️ **This pull request loosens the gate** (compared with the base branch):"]
    lines += [f"- {change}" for change in changes["loosened"]]
    return [*lines, ""]


def evaluation_markdown(evaluation: dict[str, Any], heading: str = "##") -> str:
    """Any loosening of the gate first, then the decision in one sentence, the metric table
    (candidate and difference with their intervals, threshold, tolerance, verdict, result),
    then every reason."""
    champion = evaluation.get("champion")
    champion_label = f"champion (v{champion['version']})" if champion else "champion"
    gate = evaluation["gate"]
    confidence = f"{gate['confidence']:.0%}"
    summary = evaluation["summary"].split(": ", 1)[-1]
    if evaluation.get("pull_request"):  # a pull request never deploys; its merge may
        verdict = (
            "✅ **Gate passed: would deploy after merge.**"
            if evaluation["deploy"]
            else "❌ **Gate failed: would not deploy after merge.**"
        )
    else:
        verdict = (
            "✅ **Gate passed: deploy.**"
            if evaluation["deploy"]
            else "❌ **Gate failed: no deploy.**"
        )
    resamples = gate["bootstrap_resamples"]
    method = (
        f"{resamples} paired bootstrap resamples, seed {gate['seed']}"
        if resamples
        else "no intervals"
    )
    lines = [
        f"{heading} Evaluation: `{evaluation['registered_model']}`",
        *_gate_changes(evaluation.get("gate_changes")),
        f"{verdict} {summary}",
        "",
        f"Held-out rows: {evaluation['holdout_rows']} · rule `{gate['rule']}` at {confidence} "
        f"({method}) · thresholds on the {gate['threshold_on'].replace('_', ' ')} · "
        f"run `{evaluation['run_id']}`",
        "",
        f"| metric | candidate ({confidence} CI) | {champion_label} "
        f"| Δ candidate − champion ({confidence} CI) | threshold | tolerance "
        "| verdict | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for check in evaluation["checks"]:
        lines.append(
            f"| {check['metric']} | {_with_interval(check['value'], check['interval'])} "
            f"| {_number(check['champion'])} "
            f"| {_with_interval(check['delta'], check['delta_interval'], signed=True)} "
            f"| {_threshold(check['metric'], check['threshold'])} | {_number(check['tolerance'])} "
            f"| {check['verdict'] or '–'} | {_result(check)} |"
        )
    if not evaluation["deploy"]:
        lines += ["", f"{heading}# Why not", ""]
        lines += [f"- {reason}" for reason in evaluation["reasons"]]
    charts = [chart_from_dict(data) for data in evaluation.get("charts", [])]
    if charts:
        draw = mermaid if evaluation.get("mermaid", True) else table
        lines += ["", f"{heading}# Charts"]
        for chart in charts:
            lines += ["", draw(chart)]
    return "\n".join(lines)

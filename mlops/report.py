"""Markdown for people: the gate's decision and why, then the table, from evaluation.json."""

from typing import Any

from mlops.charts import chart_from_dict, mermaid, table
from mlops.metrics import METRICS, figure


def _number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return figure(value, 0 if abs(value) >= 1000 else 4, signed)


def _with_interval(value: float | None, interval: dict | None, signed: bool = False) -> str:
    if interval is None:
        return _number(value, signed)
    low, high = _number(interval["low"], signed), _number(interval["high"], signed)
    return f"{_number(value, signed)} ({low} to {high})"


def _threshold(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    return f"{'≥' if METRICS[metric].greater_is_better else '≤'} {_number(value)}"


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


def _key_figure(checks: list[dict[str, Any]], champion: dict | None) -> str:
    """The figure behind the decision, for the headline: the first failed check's metric,
    else the first thresholded one; its value and, with a champion, the difference."""
    if not checks:
        return ""
    check = next(
        (c for c in checks if not c["passed"]),
        next((c for c in checks if c["threshold"] is not None), checks[0]),
    )
    text = f"{check['metric']} {_number(check['value'])}"
    if champion and check["delta"] is not None:
        text += f", {_number(check['delta'], signed=True)} vs champion v{champion['version']}"
        if check["verdict"]:
            text += f" ({check['verdict']})"
    return text + " — "


def _links(links: dict[str, str], champion: dict | None) -> list[str]:
    parts = []
    if "run" in links:
        parts.append(f"[the run on the tracking server]({links['run']})")
    if "champion" in links and champion:
        parts.append(f"[champion v{champion['version']}]({links['champion']})")
    if "artifacts" in links:
        parts.append(
            f"charts as PNG and the full evaluation: [`evaluation` artifact]({links['artifacts']})"
        )
    return ["", " · ".join(parts)] if parts else []


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
        f"{verdict} {_key_figure(evaluation['checks'], champion)}{summary}",
        "",
        f"Held-out rows: {evaluation['holdout_rows']} · rule `{gate['rule']}` at {confidence} "
        f"({method}) · thresholds on the {gate['threshold_on'].replace('_', ' ')} · "
        f"run `{evaluation['run_id']}`",
        *_links(evaluation.get("links") or {}, champion),
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

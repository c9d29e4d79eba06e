"""Markdown for people: the evaluation table and the gate's decision, from evaluation.json."""

from typing import Any

from mlops.metrics import METRICS


def _number(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.4f}" if signed else f"{value:.4f}"


def _threshold(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    return f"{'≥' if METRICS[metric].greater_is_better else '≤'} {value:.4f}"


def evaluation_markdown(evaluation: dict[str, Any], heading: str = "##") -> str:
    """Metric table (value, threshold, champion, delta, pass/fail), then the decision and why."""
    champion = evaluation.get("champion")
    champion_label = f"champion (v{champion['version']})" if champion else "champion"
    lines = [
        f"{heading} Evaluation: `{evaluation['registered_model']}`",
        f"Held-out rows: {evaluation['holdout_rows']} · run `{evaluation['run_id']}`",
        "",
        f"| metric | candidate | threshold | {champion_label} | delta | result |",
        "|---|---|---|---|---|---|",
    ]
    for check in evaluation["checks"]:
        judged = check["threshold"] is not None or check["tolerance"] is not None
        result = ("✅ pass" if check["passed"] else "❌ fail") if judged else "·"
        lines.append(
            f"| {check['metric']} | {_number(check['value'])} "
            f"| {_threshold(check['metric'], check['threshold'])} "
            f"| {_number(check['champion'])} | {_number(check['delta'], signed=True)} | {result} |"
        )
    verdict = (
        "✅ **Gate passed: deploy**" if evaluation["deploy"] else "❌ **Gate failed: no deploy**"
    )
    lines += ["", f"{heading}# Decision", verdict, ""]
    lines += [f"- {reason}" for reason in evaluation["reasons"]]
    return "\n".join(lines)

"""What readers see of an evaluation (evaluation.json): markdown for the job summary, the
pull-request comment and outputs/evaluation.md, and plain text for a terminal.

The markdown is a list of sections (`MARKDOWN_SECTIONS`), each a function of the evaluation:
a warning when a pull request loosens the gate, the headline (the decision and only what
decided it), how the gate decided (folded), each model's decision threshold (when one has
its own), where the run is, the metric table, every reason, the classes (multiclass: each
class's precision and recall, and the confusion matrix), the charts. A new section is one
more function in the list; the terminal gets the headline, the table, the thresholds, the
reasons, the classes, where the run is and the charts' PNG files (`evaluation_text`).
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlops.charts import chart_from_dict, mermaid, table
from mlops.handoff import shown_path
from mlops.markdown import Table, cell, some
from mlops.metrics import METRICS, figure, figures
from mlops.splits import split_words

Evaluation = dict[str, Any]
# What else the held-out rows could have been, by what the bootstrap resampled.
OTHER_HELD_OUT = {
    "rows": "other rows like these",
    "groups": "other groups like these",
    "blocks": "another period like this one",
}
# Where the gate's verdicts say the difference lies, in the words of the headline.
NOISE_WORDS = {
    "better": "better beyond noise",
    "no detectable difference": "within noise",
    "worse": "worse beyond noise",
    "worse beyond tolerance": "worse beyond noise and beyond the tolerance",
}


def _check(evaluation: Evaluation, metric: str) -> dict[str, Any] | None:
    return next((c for c in evaluation["checks"] if c["metric"] == metric), None)


def _figures(check: dict[str, Any]) -> Callable[..., str]:
    """Every number of one metric at the precision that metric needs."""
    scale = check["value"] if check["value"] is not None else check["champion"]
    return figures(check["metric"], scale)


def _decision(evaluation: Evaluation) -> str:
    # A pull request never deploys; its merge may.
    after_merge = evaluation.get("pull_request")
    if evaluation["deploy"]:
        return "Gate passed: would deploy after merge." if after_merge else "Gate passed: deploy."
    return (
        "Gate failed: would not deploy after merge." if after_merge else "Gate failed: no deploy."
    )


def _threshold_words(check: dict[str, Any]) -> str | None:
    if check["threshold"] is None:
        return None
    word = "at least" if METRICS[check["metric"]].greater_is_better else "at most"
    return f"{word} {_figures(check)(check['threshold'])}"


def _against_champion(check: dict[str, Any], champion: dict[str, Any]) -> str:
    """The main metric against the champion: its change and whether it is beyond noise."""
    shown = _figures(check)
    label = f"champion v{champion['version']}"
    if check["delta"] is None:
        return f"{check['metric']} {shown(check['value'])}; {label}'s could not be computed."
    change = (
        f"{check['metric']} {shown(check['value'])}, {shown(check['delta'], True)} against {label}"
    )
    if check["verdict"] is None:
        return f"{change} (no interval computed)."
    words = NOISE_WORDS[check["verdict"]]
    if check["verdict"] == "worse" and check["tolerance"] is not None:
        words += f", within the tolerance of {shown(check['tolerance'])}"
    return f"{change}: {words}."


def headline_reason(evaluation: Evaluation) -> str:
    """What decided, in one sentence: the first failed check (and how many more), or for a
    pass the main metric with its change against the champion and whether it is noise."""
    reasons = evaluation["reasons"]
    if not evaluation["deploy"]:
        more = f" (and {len(reasons) - 1} more below)" if len(reasons) > 1 else ""
        return f"{reasons[0]}{more}."
    check = _check(evaluation, evaluation["main_metric"])
    if check is None or check["value"] is None:
        return f"{reasons[0]}."
    champion = evaluation.get("champion")
    if champion:
        return _against_champion(check, champion)
    shown = f"{check['metric']} {_figures(check)(check['value'])}"
    threshold = _threshold_words(check)
    if threshold:
        shown += f" meets its threshold ({threshold})"
    return f"{shown}; there is no champion yet to compare with."


def _gate_changes(evaluation: Evaluation, heading: str) -> list[str]:
    return gate_change_lines(evaluation, markdown=True)


def gate_change_lines(evaluation: Evaluation, markdown: bool) -> list[str]:
    """How a pull request loosens the gate, or why its base could not be compared."""
    changes = evaluation.get("gate_changes")
    if not changes:
        return []
    warning = "⚠️ " if markdown else "warning: "
    if changes.get("error"):
        return [
            f"{warning}The gate could not be compared with the base branch's: {changes['error']}"
        ]
    if not changes["loosened"]:
        return []
    loosens = (
        "**This pull request loosens the gate**"
        if markdown
        else "This pull request loosens the gate"
    )
    lines = [f"{warning}{loosens} (compared with the base branch):"]
    return lines + [f"- {change}" for change in changes["loosened"]]


def _headline(evaluation: Evaluation, heading: str) -> list[str]:
    mark = "✅" if evaluation["deploy"] else "❌"
    return [f"{mark} **{_decision(evaluation)}** {headline_reason(evaluation)}"]


def _intervals(evaluation: Evaluation) -> bool:
    """Whether the bootstrap computed intervals: turned on, and enough held-out groups or
    blocks of times to resample."""
    return (
        bool(evaluation["gate"]["bootstrap_resamples"])
        and not evaluation["resampling"]["shortfall"]
    )


def _resampled(evaluation: Evaluation) -> str:
    """What each resample drew, by the rule of the held-out split."""
    drawn = evaluation["resampling"]
    if drawn["by"] == "rows":
        return "the held-out rows"
    column = cell(evaluation["split"]["column"], code=True)
    if drawn["by"] == "groups":
        return (
            f"whole groups: the {drawn['groups']:,} held-out groups of {column}, each drawn "
            "with all its rows"
        )
    return (
        f"{drawn['blocks']:,} blocks of {drawn['block']} consecutive times of {column} "
        f"(circular, over its {drawn['times']:,} distinct held-out times; rows of one time "
        "drawn together)"
    )


def _method_lines(evaluation: Evaluation) -> list[str]:
    """How the gate decided, in plain words: the rows, the thresholds, the rule, the intervals
    and what the verdicts mean."""
    gate, champion = evaluation["gate"], evaluation.get("champion")
    confidence = f"{gate['confidence']:.0%}"
    rows = f"{evaluation['holdout_rows']:,} held-out rows"
    split = split_words(evaluation.get("split"), markdown=True)
    lines = [
        f"Scored on the same {rows} as champion v{champion['version']}."
        if champion
        else f"Scored on {rows}; there is no champion yet, so only the thresholds apply.",
        *([split] if split else []),
        "Thresholds are judged on each metric's value."
        if gate["threshold_on"] == "value"
        else f"Thresholds are judged on the worse end of each metric's {confidence} interval "
        "(`gate.threshold_on: lower_bound`).",
    ]
    if champion:
        lines.append(
            f"Against the champion (`gate.rule: {gate['rule']}`): "
            + {
                "non_inferiority": "a metric with a tolerance fails only when its whole "
                "interval of the difference is worse than the tolerance.",
                "point": "a metric with a tolerance fails when the difference is worse than "
                "the tolerance.",
                "superiority": "a metric with a tolerance passes only when its whole interval "
                "of the difference is better than zero.",
            }[gate["rule"]]
        )
    if not gate["bootstrap_resamples"]:
        lines.append("No intervals: `gate.bootstrap_resamples` is 0.")
    elif not _intervals(evaluation):
        lines.append(
            f"No intervals: {evaluation['resampling']['shortfall']}. Hold out more of them "
            "(a larger `split.test_fraction`), or judge point estimates (`gate.rule: point`, "
            "`gate.threshold_on: value`)."
        )
    else:
        lines.append(
            f"Intervals: {confidence} paired bootstrap, {gate['bootstrap_resamples']:,} "
            f"resamples of {_resampled(evaluation)} (seed {gate['seed']})."
        )
        if champion:
            lines.append(
                "Verdicts: better or worse when the whole interval of the difference lies on "
                "one side of zero, worse beyond tolerance when all of it is worse than the "
                "tolerance, else no detectable difference."
            )
    if evaluation["deploy"] and champion:
        lines.append(f"Passed: {evaluation['reasons'][0].rstrip('.')}.")
    return lines


def _method(evaluation: Evaluation, heading: str) -> list[str]:
    meaning = ""
    if _intervals(evaluation):
        meaning = (
            f"A {evaluation['gate']['confidence']:.0%} interval is the range a figure would "
            f"likely take on {OTHER_HELD_OUT[evaluation['resampling']['by']]}"
        )
        if evaluation.get("champion"):
            meaning += (
                "; when the interval of a difference straddles zero, the two models cannot be "
                "told apart on these rows"
            )
        meaning += "."
    return [
        "<details><summary>How the gate decided</summary>",
        "",
        *[f"- {line}" for line in _method_lines(evaluation)],
        *(["", meaning] if meaning else []),
        "",
        "</details>",
    ]


def run_location(run_id: str, links: dict[str, str], store: str | None, markdown: bool) -> str:
    """Where the MLflow run is: on the tracking server (linked), in this workflow run's
    artifacts (linked), or in the local store; never a bare id."""
    workflow = links.get("workflow_run")

    def code(text: str) -> str:
        return f"`{text}`" if markdown else text

    def link(text: str, url: str) -> str:
        return f"[{text}]({url})" if markdown else f"{text} ({url})"

    run = f"MLflow run {code(run_id)}"
    if "run" in links:
        return f"{run}: {link('on the tracking server', links['run'])}"
    if store == "embedded" and workflow:
        artifacts = link("this workflow run", f"{workflow}#artifacts")
        return f"{run} is in the {code('mlflow-store')} artifact of {artifacts}"
    if store == "embedded":
        return (
            f"{run} is in the local store ({code('mlflow.db')}; browse it with {code('make ui')})"
        )
    where = f"{run} is in the tracking store {code(store or 'configured')}"
    return f"{where}, used by {link('this workflow run', workflow)}" if workflow else where


def threshold_line(evaluation: Evaluation, markdown: bool) -> str | None:
    """At which probability of the positive class each model says "positive", when either
    has a decision threshold of its own (model.decision_threshold)."""
    champion = evaluation.get("champion") or {}
    candidate, champions = evaluation.get("decision_threshold"), champion.get("decision_threshold")
    if candidate is None and champions is None:  # and always for regression
        return None

    def shown(value: float | None) -> str:
        return "the estimator's own predict" if value is None else f"{value:.4g}"

    positive = evaluation["positive_class"]
    positive = cell(positive, code=True) if markdown else repr(positive)
    line = f"Decision threshold on the probability of {positive}: candidate {shown(candidate)}"
    if candidate is not None and evaluation.get("decision_threshold_rule"):
        line += f" ({evaluation['decision_threshold_rule']})"
    if "decision_threshold" in champion:  # else it could not be loaded
        line += f", champion v{champion['version']} {shown(champions)}"
    return line + "; the label-based metrics take each model's labels at its own threshold."


def _threshold(evaluation: Evaluation, heading: str) -> list[str]:
    line = threshold_line(evaluation, markdown=True)
    return [line] if line else []


def _where(evaluation: Evaluation, heading: str) -> list[str]:
    links = evaluation.get("links") or {}
    parts = [run_location(evaluation["run_id"], links, evaluation.get("tracking_store"), True)]
    champion = evaluation.get("champion")
    if "champion" in links and champion:
        parts.append(f"[champion v{champion['version']}]({links['champion']})")
    if "artifacts" in links:
        parts.append(
            f"charts as PNG and the full evaluation: [`evaluation` artifact]({links['artifacts']})"
        )
    return [" · ".join(parts) + "."]


def _result(check: dict[str, Any], marks: bool) -> str:
    if check["threshold"] is None and check["tolerance"] is None:
        return "not judged"
    if check["passed"]:
        return "✅ pass" if marks else "pass"
    words = {"threshold": "threshold", "champion": "champion check"}
    failed = "fails " + " and ".join(words[name] for name in check["failed"])
    return f"❌ {failed}" if marks else failed


def _with_interval(
    shown: Callable[..., str], value: float | None, interval: dict | None, signed: bool
) -> str:
    if value is None:
        return "not computed"
    if interval is None:
        return shown(value, signed)
    low, high = shown(interval["low"], signed), shown(interval["high"], signed)
    return f"{shown(value, signed)} ({low} to {high})"


def _metric_row(check: dict[str, Any], compared: bool, marks: bool) -> list[str | None]:
    """A metric's cells; None where a column does not apply (no champion to compare with)."""
    shown = _figures(check)
    champion = shown(check["champion"]) if check["champion"] is not None else "not computed"
    return [
        check["metric"],
        _with_interval(shown, check["value"], check["interval"], False),
        champion if compared else None,
        _with_interval(shown, check["delta"], check["delta_interval"], True) if compared else None,
        check["verdict"] if compared else None,
        _threshold_words(check),
        shown(check["tolerance"]) if compared and check["tolerance"] is not None else None,
        _result(check, marks),
    ]


def metric_table(evaluation: Evaluation, marks: bool = True) -> Table:
    """One row per metric: the candidate, the champion and the difference with their
    intervals, the verdict, threshold, tolerance and result. Columns that apply to no metric
    (the champion's on a first model) are left out by `Table`."""
    gate, champion = evaluation["gate"], evaluation.get("champion")
    ci = f" ({gate['confidence']:.0%} interval)" if _intervals(evaluation) else ""
    header = [
        "metric",
        f"candidate{ci}",
        f"champion v{champion['version']}" if champion else "champion",
        f"candidate − champion{ci}",
        "verdict",
        "threshold",
        "tolerance",
        "result",
    ]
    rows = [_metric_row(check, champion is not None, marks) for check in evaluation["checks"]]
    return Table(header, rows)


def _table(evaluation: Evaluation, heading: str) -> list[str]:
    return [metric_table(evaluation).markdown()]


def _every_reason(evaluation: Evaluation) -> list[str]:
    """Every reason the gate failed, when the headline could name only the first."""
    reasons = evaluation["reasons"]
    return [] if evaluation["deploy"] or len(reasons) < 2 else reasons


def _why_not(evaluation: Evaluation, heading: str) -> list[str]:
    reasons = _every_reason(evaluation)
    return [f"{heading}# Why not", "", *[f"- {reason}" for reason in reasons]] if reasons else []


def _quoted(names: list[str]) -> str:
    return some(names, shown=lambda name: f"'{name}'")


def class_notes(evaluation: Evaluation) -> list[str]:
    """Sentences on the classes: how many, the rarest, classes predicted but absent from the
    held-out rows, and how the champion's classes differ (and what that does to the
    comparison)."""
    classes = evaluation["classes"]
    names, support = classes["names"], classes["support"]
    held = [(rows, name) for name, rows in zip(names, support, strict=True) if rows]
    rows, rarest = min(held)
    notes = [
        f"{len(held)} classes in the {evaluation['holdout_rows']:,} held-out rows, the rarest "
        f"'{rarest}' with {rows:,}. ROC and precision-recall curves are for two classes: "
        "here each class's precision and recall, and the confusion matrix."
    ]
    absent = classes["not_held_out"]
    predicted = [n for n, c in zip(names, classes["candidate"]["predicted"], strict=True) if c]
    if absent:
        guessed = [name for name in absent if name in predicted]
        notes.append(
            f"No held-out row has class {_quoted(absent)}"
            + (
                f"; the candidate predicts {_quoted(guessed)} for some rows, all errors "
                "(precision 0, and the averaged metrics count such a class as scikit-learn "
                "does)."
                if guessed
                else "."
            )
        )
    champion = evaluation.get("champion")
    if classes["added"] or classes["removed"]:
        label = f"champion v{champion['version']}"
        changes = []
        if classes["added"]:
            changes.append(
                f"{_quoted(classes['added'])} added since (the champion never predicts it: "
                "its held-out rows are the champion's errors)"
            )
        if classes["removed"]:
            changes.append(
                f"{_quoted(classes['removed'])} removed since (what the champion still "
                "predicts of it are its errors)"
            )
        sentence = f"The {label} was trained on other classes: " + "; ".join(changes) + "."
        if classes["not_compared"]:
            sentence += (
                f" {', '.join(classes['not_compared'])}: not compared with the champion, which "
                "has no probability for a class of the held-out rows."
            )
        notes.append(sentence)
    return notes


def _share(part: float | None) -> str | None:
    return None if part is None else figure(part, 4)


def class_table(evaluation: Evaluation) -> Table:
    """One row per class: its held-out rows, and the candidate's (and champion's) precision
    and recall."""
    classes, champion = evaluation["classes"], evaluation.get("champion")
    label = f"champion v{champion['version']}" if champion else "champion"
    compared = classes["champion"] is not None
    header = [
        "class",
        "held-out rows",
        "precision",
        f"{label} precision",
        "recall",
        f"{label} recall",
    ]
    rows = []
    for index, name in enumerate(classes["names"]):
        cells: list[str | None] = [name, f"{classes['support'][index]:,}"]
        for key, undefined in (("precision", "none predicted"), ("recall", "no held-out row")):
            for model in ("candidate", "champion"):
                figures = classes[model]
                if model == "champion" and not compared:
                    cells.append(None)
                    continue
                value = _share(figures[key][index])
                cells.append(undefined if value is None else value)
        rows.append(cells)
    return Table(header, rows)


# Classes up to which the confusion matrix is drawn whole; beyond, its largest cells.
MATRIX_CLASSES = 12
TOP_CONFUSIONS = 10


def confusion_table(evaluation: Evaluation) -> Table:
    """The candidate's confusion matrix (rows: the true class, columns: the predicted one)
    up to MATRIX_CLASSES classes; beyond, its TOP_CONFUSIONS largest off-diagonal cells."""
    classes = evaluation["classes"]
    names, matrix = classes["names"], classes["confusion"]
    if len(names) <= MATRIX_CLASSES:
        rows = [[name, *(f"{n:,}" for n in row)] for name, row in zip(names, matrix, strict=True)]
        return Table(["true class", *names], rows)
    cells = sorted(
        (
            (-count, i, j)
            for i, row in enumerate(matrix)
            for j, count in enumerate(row)
            if i != j and count
        )
    )[:TOP_CONFUSIONS]
    return Table(
        ["true class", "predicted as", "rows", "share of the class's rows"],
        [
            [names[i], names[j], f"{-negative:,}", f"{-negative / classes['support'][i]:.1%}"]
            for negative, i, j in cells
        ],
    )


def confusion_caption(evaluation: Evaluation, markdown: bool) -> str:
    """What the confusion table shows: the whole matrix, or its largest cells and where the
    whole one is."""
    if len(evaluation["classes"]["names"]) <= MATRIX_CLASSES:
        return (
            "Confusion matrix of the candidate (rows: the true class; columns: the predicted one):"
        )
    quote = "`" if markdown else ""
    return (
        f"The candidate's {TOP_CONFUSIONS} most frequent confusions (the whole matrix: "
        f"{quote}confusion_matrix.png{quote} with the charts as PNG, "
        f"{quote}classes.confusion{quote} in {quote}evaluation.json{quote}):"
    )


def _classes(evaluation: Evaluation, heading: str) -> list[str]:
    if not evaluation.get("classes"):
        return []
    names = evaluation["classes"]["names"]
    per_class = class_table(evaluation).markdown()
    whole = len(names) <= MATRIX_CLASSES
    lines = [f"{heading}# Classes", "", *class_notes(evaluation), ""]
    if whole:
        lines += [per_class]
    else:  # a long table, folded
        lines += [
            f"<details><summary>Precision and recall of each of the {len(names)} classes</summary>",
            "",
            per_class,
            "",
            "</details>",
        ]
    lines += [
        "",
        confusion_caption(evaluation, markdown=True),
        "",
        confusion_table(evaluation).markdown(),
    ]
    return lines


def _charts(evaluation: Evaluation, heading: str) -> list[str]:
    charts = [chart_from_dict(data) for data in evaluation.get("charts", [])]
    if not charts:
        return []
    draw = mermaid if evaluation.get("mermaid", True) else table
    return [f"{heading}# Charts", *[f"\n{draw(chart)}" for chart in charts]]


MARKDOWN_SECTIONS: tuple[Callable[[Evaluation, str], list[str]], ...] = (
    _gate_changes,
    _headline,
    _method,
    _threshold,
    _where,
    _table,
    _why_not,
    _classes,
    _charts,
)


def evaluation_markdown(evaluation: Evaluation, heading: str = "##") -> str:
    """The report for GitHub (job summary, pull-request comment) and outputs/evaluation.md:
    each of `MARKDOWN_SECTIONS` in turn, a blank line apart."""
    blocks = [f"{heading} Evaluation: `{evaluation['registered_model']}`"]
    for section in MARKDOWN_SECTIONS:
        lines = section(evaluation, heading)
        if lines:
            blocks.append("\n".join(lines))
    # The heading and the first section stay together, as GitHub shows a title and its text.
    return blocks[0] + "\n" + "\n\n".join(blocks[1:])


def evaluation_text(evaluation: Evaluation, figures: list[Path], report: Path) -> str:
    """The report for a terminal: the decision, the table, the reasons, where the run is, and
    the paths of the charts as PNG and of the markdown report."""
    changes = gate_change_lines(evaluation, markdown=False)
    lines = [
        *changes,
        *([""] if changes else []),
        f"{_decision(evaluation)} {headline_reason(evaluation)}",
        "",
        metric_table(evaluation, marks=False).text(),
    ]
    split = split_words(evaluation.get("split"))
    if split:
        lines += ["", split]
    threshold = threshold_line(evaluation, markdown=False)
    if threshold:
        lines += ["", threshold]
    if evaluation["gate"]["bootstrap_resamples"] and not _intervals(evaluation):
        lines += ["", f"No intervals: {evaluation['resampling']['shortfall']}."]
    reasons = _every_reason(evaluation)
    if reasons:
        lines += ["", "Why not:", *[f"  - {reason}" for reason in reasons]]
    if evaluation.get("classes"):
        lines += ["", *class_notes(evaluation), "", class_table(evaluation).text()]
        lines += ["", confusion_caption(evaluation, markdown=False)]
        lines += [confusion_table(evaluation).text()]
    links = evaluation.get("links") or {}
    lines += [
        "",
        run_location(evaluation["run_id"], links, evaluation.get("tracking_store"), False) + ".",
    ]
    if figures:
        lines.append("charts (PNG): " + ", ".join(shown_path(path) for path in figures))
    lines.append(f"report for GitHub (markdown, Mermaid charts): {shown_path(report)}")
    return "\n".join(lines)

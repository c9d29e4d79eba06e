"""Charts of candidate against champion, drawn three ways from the same data: Mermaid
`xychart-beta` for the job summary and the pull-request comment (GitHub renders it and strips
`data:` images), a small table where Mermaid is switched off, and a PNG for MLflow and the
artifact, under the same name.

Mermaid's xychart has no legend, so each chart's series get fixed colours and the caption
names them. Curves are reduced to a few dozen points on a shared x grid.
"""

import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import precision_recall_curve, roc_curve

from mlops.markdown import cell
from mlops.metrics import METRICS

# Models in order (candidate, champion), then the reference line (chance, perfect, zero).
MODEL_COLOURS = (("#2563eb", "blue"), ("#f97316", "orange"))
REFERENCE_COLOUR = ("#9ca3af", "grey")
CURVE_POINTS = 21
BINS = 10
# A bin of the regression charts holds at least this share of the rows: a mean over a few rows
# would bend the lines with noise.
MIN_BIN_SHARE = 0.02


@dataclass(frozen=True)
class Chart:
    name: str  # file stem: <name>.png in MLflow and in the artifact
    title: str
    x_label: str
    y_label: str
    x: list[str]  # shared x positions, as labels
    series: dict[str, list[float]]  # legend name -> one y value per x; the reference last
    y_range: tuple[float, float] | None = None
    note: str = ""  # appended to the caption
    has_reference: bool = True  # the last series is a reference line (chance, perfect, zero)
    bars: bool = False  # bars for categories (features) instead of lines


def chart_from_dict(data: dict) -> Chart:
    """A chart as evaluation.json holds it (see `asdict`)."""
    return Chart(**{**data, "y_range": tuple(data["y_range"]) if data["y_range"] else None})


def chart_to_dict(chart: Chart) -> dict:
    return asdict(chart)


def _label(value: float, digits: int = 3) -> str:
    """Whole numbers with thousands separators from 1,000 on (never 6.82e+04), else `digits`
    significant digits."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.{digits}g}"


def _colours(chart: Chart) -> list[tuple[str, str]]:
    """(hex, name) per series: models in order, the reference grey."""
    models = len(chart.series) - chart.has_reference
    return [*MODEL_COLOURS[:models], *([REFERENCE_COLOUR] if chart.has_reference else [])]


def roc_chart(y_true: np.ndarray, scores: dict[str, np.ndarray]) -> Chart:
    """True positive rate at evenly spaced false positive rates, per model."""
    grid = np.linspace(0, 1, CURVE_POINTS)
    series = {}
    for name, score in scores.items():
        fpr, tpr, _ = roc_curve(y_true, score)
        series[name] = [_rounded(v) for v in np.interp(grid, fpr, tpr)]
    series["chance"] = [_rounded(v) for v in grid]
    return Chart(
        "roc_curve",
        "ROC curve",
        "false positive rate",
        "true positive rate",
        [_label(v) for v in grid],
        series,
        (0.0, 1.0),
    )


def precision_recall_chart(y_true: np.ndarray, scores: dict[str, np.ndarray]) -> Chart:
    """Interpolated precision (the best precision at this recall or more) at evenly spaced
    recalls, per model; the reference is the share of positives."""
    grid = np.linspace(0, 1, CURVE_POINTS)
    series = {}
    for name, score in scores.items():
        precision, recall, _ = precision_recall_curve(y_true, score)
        # recall falls along the arrays: the best precision at recall >= r is a running max.
        best = np.maximum.accumulate(precision)
        at = np.searchsorted(-recall, -grid, side="right") - 1
        series[name] = [_rounded(best[max(i, 0)]) for i in at]
    series["positives' share"] = [_rounded(np.mean(y_true))] * len(grid)
    return Chart(
        "precision_recall_curve",
        "Precision-recall curve",
        "recall",
        "precision",
        [_label(v) for v in grid],
        series,
        (0.0, 1.0),
    )


def _rounded(value: float) -> float:
    """Four decimals, and 0.0 for what rounds to zero (no "-0.0" on an axis or a bar)."""
    return round(float(value), 4) + 0.0


def _bins(y_true: np.ndarray) -> tuple[list[np.ndarray], list[str]]:
    """Row indices of up to BINS bins of equal width by the true value, and their labels.

    The bins span the 2nd to the 98th percentile, so a few extreme values do not squeeze
    every other row into one bin; the first and last bins also hold the rows beyond (their
    labels say "up to" and "from"). Fewer bins where one would hold less than
    MIN_BIN_SHARE of the rows (a sparse tail, a gap, a few distinct values); one bin for a
    constant target."""
    low, high = (float(v) for v in np.percentile(y_true, [2, 98]))
    most = min(BINS, len(np.unique(y_true))) if high > low else 1
    least = max(1, MIN_BIN_SHARE * len(y_true))
    for count in range(most, 1, -1):
        edges = np.linspace(low, high, count + 1)
        # Inner edges only: below the first, or from the last, is the first or last bin.
        which = np.searchsorted(edges[1:-1], y_true, side="right")
        parts = [np.flatnonzero(which == b) for b in range(count)]
        if all(len(part) >= least for part in parts):
            centres = (edges[:-1] + edges[1:]) / 2
            labels = [
                f"up to {_label(edges[1])}",
                *(_label(c) for c in centres[1:-1]),
                f"from {_label(edges[-2])}",
            ]
            return parts, labels
    return [np.arange(len(y_true))], ["every row"]


def _by_true_value(
    name: str,
    title: str,
    y_label: str,
    labels: list[str],
    series: dict[str, list[float]],
) -> Chart:
    open_ended = " The outer bins also hold every row beyond them, so lines may bend there."
    return Chart(
        name,
        title,
        "true value (bins of equal width; the outer ones open-ended)",
        y_label,
        labels,
        series,
        note=open_ended if len(labels) > 1 else "",
    )


def predicted_vs_actual_chart(y_true: np.ndarray, predictions: dict[str, np.ndarray]) -> Chart:
    """Mean prediction per bin of the true value; a perfect model follows the mean true
    value, a straight line across the bins of equal width."""
    bins, labels = _bins(y_true)
    series = {name: [_rounded(p[b].mean()) for b in bins] for name, p in predictions.items()}
    series["perfect"] = [_rounded(y_true[b].mean()) for b in bins]
    return _by_true_value(
        "predicted_vs_actual", "Predicted against actual", "mean prediction", labels, series
    )


def residuals_chart(y_true: np.ndarray, predictions: dict[str, np.ndarray]) -> Chart:
    """Mean residual (prediction − true value) per bin of the true value: a bias that
    depends on the value shows as a slope."""
    bins, labels = _bins(y_true)
    series = {
        name: [_rounded((p[b] - y_true[b]).mean()) for b in bins] for name, p in predictions.items()
    }
    series["zero"] = [0.0] * len(bins)
    return _by_true_value(
        "residuals", "Residuals", "mean residual (prediction − true)", labels, series
    )


def history_chart(metric: str, history: list[tuple[str, float]]) -> Chart:
    """A metric over the last champion versions, then the candidate (on their own held-out
    rows at the time, so a trend, not a paired comparison)."""
    values = [value for _, value in history]
    # Room around the bars, even when every version scored (nearly) the same.
    span = max(max(values) - min(values), 0.05 * max(abs(v) for v in values), 1e-6)
    bounds = METRICS[metric]
    low = max(min(values) - span, bounds.lowest)
    high = min(max(values) + span, bounds.highest)
    return Chart(
        "metric_history",
        f"{metric} of the last champions and the candidate",
        "version",
        metric,
        [label for label, _ in history],
        {metric: [_rounded(value) for value in values]},
        (round(low, 4), round(high, 4)),
        has_reference=False,
        note=" Each version was scored on its own run's held-out rows: a trend, not a paired "
        "comparison.",
    )


def importance_chart(metric: str, importances: dict[str, float], top: int = 15) -> Chart:
    """The columns the candidate relies on most: how much `metric` worsens when each is
    shuffled. A column whose shuffling did not worsen it (noise) gets no bar: Mermaid draws
    bars up from the bottom of the axis, so a negative one would look like a small gain."""
    ranked = sorted(importances.items(), key=lambda item: -item[1])[:top]
    values = [max(_rounded(value), 0.0) for _, value in ranked]
    if len(ranked) < len(importances):
        shown = f"The {len(ranked)} most important of {len(importances)} columns"
    else:
        shown = f"All {len(ranked)} columns" if len(ranked) > 1 else "The only column"
    unused = sum(value == 0 for value in values)
    if unused:
        shown += f"; {unused} with no bar did not worsen {metric} when shuffled"
    return Chart(
        "feature_importance",
        "Permutation importance",
        "input column",
        f"drop in {metric} when shuffled",
        [name for name, _ in ranked],
        {"candidate": values},
        (0.0, round(max(values) * 1.05, 4) or 1.0),
        has_reference=False,
        bars=True,
        note=f" {shown}.",
    )


def _caption(chart: Chart) -> str:
    names = [
        f"{colour}: {name}" for (_, colour), name in zip(_colours(chart), chart.series, strict=True)
    ]
    legend = "; ".join(names)
    return f"_{chart.title}: {chart.y_label} against {chart.x_label}. {legend}.{chart.note}_"


def mermaid(chart: Chart) -> str:
    """A Mermaid xychart with its caption (title, axes, and which colour is which series)."""
    palette = ", ".join(hex_code for hex_code, _ in _colours(chart))
    # Column names come from the data: no quote or line break may end the label early.
    categories = ", ".join('"' + re.sub(r'["\\\n\r\[\]]', "'", x) + '"' for x in chart.x)
    values = [v for ys in chart.series.values() for v in ys]
    low, high = chart.y_range or (min(values), max(values))
    if low == high:
        low, high = low - 1, high + 1
    lines = [
        "```mermaid",
        f'%%{{init: {{"themeVariables": {{"xyChart": {{"plotColorPalette": "{palette}"}}}}}}}}%%',
        "xychart-beta",
        f'    title "{chart.title}"',
        f'    x-axis "{chart.x_label}" [{categories}]',
        f'    y-axis "{chart.y_label}" {low:.6g} --> {high:.6g}',
    ]
    for ys in chart.series.values():
        lines.append(f"    {'bar' if chart.bars else 'line'} [{', '.join(str(y) for y in ys)}]")
    return "\n".join([*lines, "```", _caption(chart)])


def table(chart: Chart) -> str:
    """The same numbers as a small table, for readers without Mermaid."""
    header = [chart.x_label, *chart.series]
    lines = [
        f"**{chart.title}** ({chart.y_label})",
        "",
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "---|" * len(header),
    ]
    for i, x in enumerate(chart.x):
        values = [_label(ys[i], digits=4) for ys in chart.series.values()]
        lines.append("| " + " | ".join([cell(x), *values]) + " |")
    return "\n".join(lines)


def save_png(chart: Chart, directory: Path) -> Path:
    """The chart as <directory>/<name>.png, with a legend."""
    import matplotlib

    matplotlib.use("Agg")  # no display in CI
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    positions = np.arange(len(chart.x))
    for (colour, _), (name, ys) in zip(_colours(chart), chart.series.items(), strict=True):
        if chart.bars:
            axes.bar(positions, ys, color=colour, label=name)
        else:
            axes.plot(positions, ys, color=colour, label=name, marker=".")
    step = max(1, len(chart.x) // 10)
    if chart.bars:  # every column, names slanted
        axes.set_xticks(positions, chart.x, rotation=40, ha="right")
    elif max(len(label) for label in chart.x) > 6:  # long labels ("up to 146,657") slanted
        axes.set_xticks(positions[::step], chart.x[::step], rotation=30, ha="right")
    else:
        axes.set_xticks(positions[::step], chart.x[::step])
    axes.set(title=chart.title, xlabel=chart.x_label, ylabel=chart.y_label)
    if chart.y_range:
        axes.set_ylim(*chart.y_range)
    axes.legend()
    figure.tight_layout()
    path = directory / f"{chart.name}.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path

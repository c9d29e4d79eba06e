"""Charts of candidate against champion: the numbers behind them, and the three ways they are
drawn (Mermaid, a table, a PNG) from the same data."""

import json
import re

import numpy as np
import pandas as pd
import pytest

from mlops.charts import (
    CURVE_POINTS,
    MIN_BIN_SHARE,
    _bins,
    chart_from_dict,
    chart_to_dict,
    history_chart,
    importance_chart,
    mermaid,
    precision_recall_chart,
    predicted_vs_actual_chart,
    residuals_chart,
    roc_chart,
    save_png,
    table,
)
from mlops.scoring import permutation_importance_of


@pytest.fixture
def classification():
    rng = np.random.default_rng(0)
    y = rng.random(600) < 0.3
    good = y * 2.0 + rng.normal(size=600)
    weak = y * 0.5 + rng.normal(size=600)
    return y, {"candidate": good, "champion v3": weak}


def test_roc_curves_rise_from_chance_to_one(classification):
    y, scores = classification
    chart = roc_chart(y, scores)
    assert list(chart.series) == ["candidate", "champion v3", "chance"]
    assert len(chart.x) == CURVE_POINTS and chart.x[0] == "0" and chart.x[-1] == "1"
    for values in chart.series.values():
        assert len(values) == CURVE_POINTS and values[-1] == 1.0
        assert all(a <= b for a, b in zip(values, values[1:], strict=False))
    # The stronger model lies above the weaker one, which lies above chance.
    middle = CURVE_POINTS // 2
    assert chart.series["candidate"][middle] > chart.series["champion v3"][middle] > 0.5


def test_precision_recall_is_interpolated_and_ends_at_the_share_of_positives(classification):
    y, scores = classification
    chart = precision_recall_chart(y, scores)
    share = round(float(np.mean(y)), 4)
    assert chart.series["positives' share"] == [share] * CURVE_POINTS
    for name in scores:
        values = chart.series[name]
        assert all(a >= b for a, b in zip(values, values[1:], strict=False)), name
        assert values[-1] >= share  # at full recall, at least every row called positive


def test_regression_charts_show_bias_by_value():
    rng = np.random.default_rng(1)
    y = rng.normal(100, 20, 500)
    shrunk = 100 + 0.5 * (y - 100)  # pulled towards the mean: too high low, too low high
    chart = predicted_vs_actual_chart(y, {"candidate": shrunk, "champion v1": y})
    assert len(chart.x) == 10 and list(chart.series)[-1] == "perfect"
    assert chart.series["champion v1"] == chart.series["perfect"]
    residuals = residuals_chart(y, {"candidate": shrunk})
    assert residuals.series["candidate"][0] > 0 > residuals.series["candidate"][-1]
    assert residuals.series["zero"] == [0.0] * 10


def awkward_targets() -> dict[str, np.ndarray]:
    """Regression targets no one designed the charts for."""
    rng = np.random.default_rng(5)
    return {
        "skewed": rng.lognormal(12, 0.6, 346),
        "gap": np.concatenate([rng.normal(10, 1, 200), rng.normal(1000, 1, 150)]),
        "few values": rng.integers(1, 6, 300).astype(float),
        "outliers": np.concatenate([rng.normal(0, 1, 500), [1e6, -1e6]]),
        "constant": np.full(40, 7.0),
        "three rows": np.array([1.0, 2.0, 30.0]),
        "negative": -rng.exponential(100, 250),
    }


@pytest.mark.parametrize("name", list(awkward_targets()))
def test_regression_bins_hold_every_row_once_in_order_and_none_nearly_empty(name):
    y = awkward_targets()[name]
    bins, labels = _bins(y)
    assert 1 <= len(bins) == len(labels) <= 10, labels
    assert sorted(np.concatenate(bins).tolist()) == list(range(len(y)))
    for lower, upper in zip(bins, bins[1:], strict=False):
        assert y[lower].max() <= y[upper].min(), name
    if len(bins) > 1:
        assert min(len(b) for b in bins) >= max(1, MIN_BIN_SHARE * len(y)), name
        assert labels[0].startswith("up to ") and labels[-1].startswith("from "), labels
    chart = predicted_vs_actual_chart(y, {"candidate": y + 1.0})
    assert chart.series["candidate"] == [round(v + 1.0, 4) for v in chart.series["perfect"]]


def test_the_perfect_line_is_straight_where_the_true_value_is_spread_evenly():
    """Bins of equal width: a perfect model's points are evenly spaced between the outer
    (open-ended) bins, as a straight line is (deciles by count would bend it)."""
    y = np.random.default_rng(6).uniform(50_000, 500_000, 2_000)
    perfect = np.array(predicted_vs_actual_chart(y, {"candidate": y}).series["perfect"])
    steps = np.diff(perfect[1:-1])
    assert len(perfect) == 10 and np.ptp(steps) < 0.1 * steps.mean(), steps


def test_history_range_holds_the_values_within_the_metrics_bounds():
    chart = history_chart("roc_auc", [("v1", 0.9990), ("v2", 0.9995), ("candidate", 0.9995)])
    low, high = chart.y_range
    assert low < 0.9990 and high == 1.0  # roc_auc cannot exceed 1
    assert "trend, not a paired comparison" in mermaid(chart)
    flat = history_chart("rmse", [("v1", 12.5), ("candidate", 12.5)])
    assert flat.y_range[0] < 12.5 < flat.y_range[1]


def test_mermaid_has_title_axes_one_line_per_series_and_a_caption_naming_colours(classification):
    y, scores = classification
    text = mermaid(roc_chart(y, scores))
    lines = text.splitlines()
    assert lines[0] == "```mermaid" and lines[2] == "xychart-beta"
    assert '"plotColorPalette": "#2563eb, #f97316, #9ca3af"' in lines[1]
    assert 'title "ROC curve"' in text and 'x-axis "false positive rate" ["0", "0.05"' in text
    assert re.search(r'y-axis "true positive rate" -?[\d.e+-]+ --> -?[\d.e+-]+$', text, re.M)
    assert sum(line.startswith("    line [") for line in lines) == 3
    assert lines[-1] == (
        "_ROC curve: true positive rate against false positive rate. "
        "blue: candidate; orange: champion v3; grey: chance._"
    )
    # Without a champion the reference stays grey.
    alone = mermaid(roc_chart(y, {"candidate": scores["candidate"]}))
    assert '"#2563eb, #9ca3af"' in alone and "blue: candidate; grey: chance" in alone


def test_large_numbers_stay_parseable_on_the_axis_and_readable_in_the_table():
    y = np.linspace(50_000, 500_000, 200)
    chart = predicted_vs_actual_chart(y, {"candidate": y * 1.1})
    axis = next(line for line in mermaid(chart).splitlines() if "y-axis" in line)
    assert "," not in axis.split('"')[-1], axis
    assert "e+" not in table(chart) and re.search(r"\| \d{2,3},\d{3} \|", table(chart))


def test_table_fallback_and_png_carry_the_same_chart(classification, tmp_path):
    y, scores = classification
    chart = roc_chart(y, scores)
    rows = table(chart).splitlines()
    assert rows[0] == "**ROC curve** (true positive rate)"
    assert rows[2] == "| false positive rate | candidate | champion v3 | chance |"
    assert len(rows) == 4 + CURVE_POINTS
    path = save_png(chart, tmp_path)
    assert path.name == "roc_curve.png" and path.read_bytes().startswith(b"\x89PNG")
    assert chart_from_dict(json.loads(json.dumps(chart_to_dict(chart)))) == chart


def test_importance_chart_ranks_columns_and_starts_bars_at_zero():
    chart = importance_chart("rmse", {"a": 0.1, "b|x": 3.0, 'c"d': -0.2}, top=2)
    assert chart.x == ["b|x", "a"] and chart.series == {"candidate": [3.0, 0.1]}
    assert chart.y_range[0] == 0.0 and chart.bars and "The 2 most important of 3" in chart.note
    # Mermaid draws bars up from the axis: a column that shuffling did not hurt gets none,
    # rather than a bar that looks like a small gain.
    noise = importance_chart("r2", {"a": 0.2, "b": -0.0001, "c": -0.01})
    assert noise.series == {"candidate": [0.2, 0.0, 0.0]} and noise.y_range == (0.0, 0.21)
    assert noise.note == " All 3 columns; 2 with no bar did not worsen r2 when shuffled."
    assert "-0.0" not in mermaid(noise)
    text = mermaid(importance_chart("rmse", {'c"d': 1.0, "e\nf": 0.5}))
    assert '["c\'d", "e\'f"]' in text and "    bar [1.0, 0.5]" in text
    assert "\\|" in table(chart)  # names from the data are escaped in the table


def test_permutation_importance_finds_the_column_the_model_uses():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(3)
    x = pd.DataFrame({"signal": rng.normal(size=800), "noise": rng.normal(size=800)})
    y = pd.Series(np.where(x["signal"] + 0.3 * rng.normal(size=800) > 0, "yes", "no"))
    model = LogisticRegression().fit(x, y)
    importance = permutation_importance_of(model, x, y, "classification", "yes", "roc_auc", 0)
    assert importance["signal"] > 0.2 > abs(importance["noise"])
    loss = permutation_importance_of(model, x, y, "classification", "yes", "log_loss", 0)
    assert loss["signal"] > 0  # lower-is-better metrics are turned so that positive = relied on

"""The metrics the pipeline knows: the task each serves, its range, and which way is better.

Each metric is computed two ways: by scikit-learn on the rows (the reported value), and from
weighted sums (`Sums`) so that a thousand bootstrap resamples cost a few array products instead
of a thousand scikit-learn calls (mlops/bootstrap.py). Tests hold the two equal.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Task = Literal["classification", "regression"]
TASKS: tuple[Task, ...] = ("classification", "regression")


@dataclass(frozen=True)
class Metric:
    name: str
    task: Task
    greater_is_better: bool
    lowest: float  # -math.inf / math.inf when unbounded
    highest: float
    # (y_true, y_pred, y_score) -> value. Classification: boolean labels (True = positive
    # class) and positive-class scores. Regression: numbers, and y_score is y_pred.
    compute: Callable[[np.ndarray, np.ndarray, np.ndarray], float]
    # Sums -> values, one per resample (arrays of the same shape as the sums).
    from_sums: Callable[[Any], np.ndarray]
    # In the target's units (an error in currency, say) rather than a unitless score.
    in_target_units: bool = False


@dataclass(frozen=True)
class Sums:
    """Weighted sums over the rows of one resample (one entry per resample).

    Classification: `positives`/`negatives` row counts, `true_positives`, `false_positives`,
    `ordered_pairs` (positive-negative pairs the scores order correctly, ties counting half)
    and `log_loss_total`. Regression: `rows`, `squared_error`, `absolute_error`, `target`,
    `target_squared`. Fields of the other task are None.
    """

    positives: Any = None
    negatives: Any = None
    true_positives: np.ndarray | None = None
    false_positives: np.ndarray | None = None
    ordered_pairs: np.ndarray | None = None
    log_loss_total: np.ndarray | None = None
    rows: Any = None
    squared_error: np.ndarray | None = None
    absolute_error: np.ndarray | None = None
    target: np.ndarray | None = None
    target_squared: np.ndarray | None = None


def _sk() -> Any:
    """scikit-learn's metrics module, imported on first use (config loading needs none of it)."""
    from sklearn import metrics

    return metrics


def _ratio(numerator: np.ndarray, denominator: Any) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    numerator = np.asarray(numerator, dtype="float64")
    denominator = np.broadcast_to(np.asarray(denominator, dtype="float64"), numerator.shape)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator != 0)


def _f1_from_sums(s: Sums) -> np.ndarray:
    false_negatives = s.positives - s.true_positives
    return _ratio(2 * s.true_positives, 2 * s.true_positives + s.false_positives + false_negatives)


def _roc_auc_from_sums(s: Sums) -> np.ndarray:
    pairs = np.asarray(s.positives * s.negatives, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, s.ordered_pairs / pairs, math.nan)


def _r2_from_sums(s: Sums) -> np.ndarray:
    spread = s.target_squared - s.target**2 / s.rows
    # Constant target (up to rounding): undefined, as in the row-wise metric.
    constant = spread <= 1e-12 * np.maximum(s.target_squared, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(constant, math.nan, 1.0 - s.squared_error / spread)


def _roc_auc(y_true: np.ndarray, _y_pred: np.ndarray, y_score: np.ndarray) -> float:
    # Undefined (not an error) when the held-out rows hold only one class.
    if len(np.unique(y_true)) < 2:
        return math.nan
    return float(_sk().roc_auc_score(y_true, y_score))


def _r2(y_true: np.ndarray, y_pred: np.ndarray, _y_score: np.ndarray) -> float:
    # Undefined when the held-out target is constant.
    if len(y_true) < 2 or np.all(y_true == y_true[0]):
        return math.nan
    return float(_sk().r2_score(y_true, y_pred))


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("roc_auc", "classification", True, 0.0, 1.0, _roc_auc, _roc_auc_from_sums),
        Metric(
            "f1",
            "classification",
            True,
            0.0,
            1.0,
            lambda t, p, _s: float(_sk().f1_score(t, p, zero_division=0)),
            _f1_from_sums,
        ),
        Metric(
            "precision",
            "classification",
            True,
            0.0,
            1.0,
            lambda t, p, _s: float(_sk().precision_score(t, p, zero_division=0)),
            lambda s: _ratio(s.true_positives, s.true_positives + s.false_positives),
        ),
        Metric(
            "recall",
            "classification",
            True,
            0.0,
            1.0,
            lambda t, p, _s: float(_sk().recall_score(t, p, zero_division=0)),
            lambda s: _ratio(s.true_positives, s.positives),
        ),
        Metric(
            "accuracy",
            "classification",
            True,
            0.0,
            1.0,
            lambda t, p, _s: float(_sk().accuracy_score(t, p)),
            lambda s: _ratio(
                s.true_positives + s.negatives - s.false_positives, s.positives + s.negatives
            ),
        ),
        Metric(
            "log_loss",
            "classification",
            False,
            0.0,
            math.inf,
            lambda t, _p, s: float(_sk().log_loss(t, s, labels=[False, True])),
            lambda s: _ratio(s.log_loss_total, s.positives + s.negatives),
        ),
        Metric(
            "rmse",
            "regression",
            False,
            0.0,
            math.inf,
            lambda t, p, _s: float(_sk().root_mean_squared_error(t, p)),
            lambda s: np.sqrt(_ratio(s.squared_error, s.rows)),
            in_target_units=True,
        ),
        Metric(
            "mae",
            "regression",
            False,
            0.0,
            math.inf,
            lambda t, p, _s: float(_sk().mean_absolute_error(t, p)),
            lambda s: _ratio(s.absolute_error, s.rows),
            in_target_units=True,
        ),
        Metric("r2", "regression", True, -math.inf, 1.0, _r2, _r2_from_sums),
    )
}


def decimals(metric: str, scale: float | None) -> int:
    """The decimals every figure of `metric` gets in one report, its differences included:
    four for unitless metrics; for metrics in the target's units, four significant digits
    of `scale` (the candidate's value), so an error of 68,200 is shown in whole units and
    one of 0.0123 to five places."""
    if not METRICS[metric].in_target_units or not scale or not math.isfinite(scale):
        return 4
    return min(max(3 - math.floor(math.log10(abs(scale))), 0), 6)


def figure(value: float, places: int = 4, signed: bool = False) -> str:
    """A number as people read it: thousands separators, `places` decimals, a + on a
    positive difference when `signed`, and no sign on what rounds to zero."""
    text = f"{value:,.{places}f}"
    if not any(digit in "123456789" for digit in text):
        return text.lstrip("-")
    return f"+{text}" if signed and value > 0 else text


def metrics_for(task: Task) -> list[str]:
    """The names of every metric the task supports, in their display order."""
    return [name for name, metric in METRICS.items() if metric.task == task]


def compute_metrics(
    names: list[str], y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray
) -> dict[str, float]:
    """Each named metric from the true values, the predictions and the scores."""
    return {name: METRICS[name].compute(y_true, y_pred, y_score) for name in names}

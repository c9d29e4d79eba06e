"""The metrics the pipeline knows: the task each serves, its range, and which way is better."""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sklearn import metrics as skm

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


def _roc_auc(y_true: np.ndarray, _y_pred: np.ndarray, y_score: np.ndarray) -> float:
    # Undefined (not an error) when the held-out rows hold only one class.
    if len(np.unique(y_true)) < 2:
        return math.nan
    return float(skm.roc_auc_score(y_true, y_score))


def _r2(y_true: np.ndarray, y_pred: np.ndarray, _y_score: np.ndarray) -> float:
    # Undefined when the held-out target is constant.
    if len(y_true) < 2 or np.all(y_true == y_true[0]):
        return math.nan
    return float(skm.r2_score(y_true, y_pred))


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("roc_auc", "classification", True, 0.0, 1.0, _roc_auc),
        Metric(
            "f1",
            "classification",
            True,
            0.0,
            1.0,
            lambda t, p, _s: float(skm.f1_score(t, p, zero_division=0)),
        ),
        Metric(
            "precision",
            "classification",
            True,
            0.0,
            1.0,
            lambda t, p, _s: float(skm.precision_score(t, p, zero_division=0)),
        ),
        Metric(
            "recall",
            "classification",
            True,
            0.0,
            1.0,
            lambda t, p, _s: float(skm.recall_score(t, p, zero_division=0)),
        ),
        Metric(
            "accuracy",
            "classification",
            True,
            0.0,
            1.0,
            lambda t, p, _s: float(skm.accuracy_score(t, p)),
        ),
        Metric(
            "log_loss",
            "classification",
            False,
            0.0,
            math.inf,
            lambda t, _p, s: float(skm.log_loss(t, s, labels=[False, True])),
        ),
        Metric(
            "rmse",
            "regression",
            False,
            0.0,
            math.inf,
            lambda t, p, _s: float(skm.root_mean_squared_error(t, p)),
        ),
        Metric(
            "mae",
            "regression",
            False,
            0.0,
            math.inf,
            lambda t, p, _s: float(skm.mean_absolute_error(t, p)),
        ),
        Metric("r2", "regression", True, -math.inf, 1.0, _r2),
    )
}


def metrics_for(task: Task) -> list[str]:
    """The names of every metric the task supports, in their display order."""
    return [name for name, metric in METRICS.items() if metric.task == task]


def compute_metrics(
    names: list[str], y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray
) -> dict[str, float]:
    """Each named metric from the true values, the predictions and the scores."""
    return {name: METRICS[name].compute(y_true, y_pred, y_score) for name in names}

"""The metrics the pipeline knows: how to compute each, its range, and which way is better."""

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from sklearn import metrics as skm


@dataclass(frozen=True)
class Metric:
    name: str
    greater_is_better: bool
    lowest: float
    highest: float  # math.inf when unbounded
    # (y_true, y_pred, y_score) -> value; labels are booleans (True = positive class)
    compute: Callable[[np.ndarray, np.ndarray, np.ndarray], float]


def _roc_auc(y_true: np.ndarray, _y_pred: np.ndarray, y_score: np.ndarray) -> float:
    # Undefined (not an error) when the held-out rows hold only one class.
    if len(np.unique(y_true)) < 2:
        return math.nan
    return float(skm.roc_auc_score(y_true, y_score))


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("roc_auc", True, 0.0, 1.0, _roc_auc),
        Metric("f1", True, 0.0, 1.0, lambda t, p, _s: float(skm.f1_score(t, p, zero_division=0))),
        Metric(
            "precision",
            True,
            0.0,
            1.0,
            lambda t, p, _s: float(skm.precision_score(t, p, zero_division=0)),
        ),
        Metric(
            "recall",
            True,
            0.0,
            1.0,
            lambda t, p, _s: float(skm.recall_score(t, p, zero_division=0)),
        ),
        Metric("accuracy", True, 0.0, 1.0, lambda t, p, _s: float(skm.accuracy_score(t, p))),
        Metric(
            "log_loss",
            False,
            0.0,
            math.inf,
            lambda t, _p, s: float(skm.log_loss(t, s, labels=[False, True])),
        ),
    )
}


def compute_metrics(
    names: list[str], y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray
) -> dict[str, float]:
    """Each named metric for boolean labels (True = positive class) and positive-class scores."""
    return {name: METRICS[name].compute(y_true, y_pred, y_score) for name in names}

"""The decision threshold of a binary classifier: the cut-off on the positive class's
probability at or above which a row is labelled positive (`model.decision_threshold`).

Unset, the estimator's own `predict` decides (0.5 for scikit-learn's probabilistic
classifiers). A number is applied as it is. A tuning rule runs scikit-learn's
`TunedThresholdClassifierCV` on the training rows alone, with the inner folds the split
requires, toward a metric (`maximize: f1`) or toward the least expected cost of the errors
(`costs: {false_positive: 1, false_negative: 5}`). Either way the persisted model is a
`FixedThresholdClassifier` around the fitted pipeline, so every client that calls `predict`
applies the threshold; the tuned object itself is not kept (it holds a scorer that skops does
not trust). The metrics a threshold can be tuned toward are TUNABLE_METRICS (mlops/metrics.py).
"""

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Thresholded:
    """A fitted model, its decision threshold (None: the estimator's own predict) and how the
    threshold was set, in words."""

    model: Any
    threshold: float | None
    rule: str


def rule_text(setting: Any) -> str:
    """How `model.decision_threshold` sets the threshold, in words."""
    if setting is None:
        return "the estimator's own predict"
    if isinstance(setting, float | int):
        return "fixed in model.decision_threshold"
    if setting.maximize is not None:
        return f"tuned to maximise {setting.maximize} on inner folds of the training rows"
    costs = setting.costs
    return (
        "tuned to the least expected cost on inner folds of the training rows (a false "
        f"positive costs {costs.false_positive:g}, a false negative {costs.false_negative:g})"
    )


def negative_expected_cost(
    y_true: Any, y_pred: Any, *, pos_label: Any, false_positive: float, false_negative: float
) -> float:
    """Minus the mean cost per row of the errors: a score, higher is better."""
    truth, predicted = np.asarray(y_true) == pos_label, np.asarray(y_pred) == pos_label
    cost = false_positive * np.sum(predicted & ~truth) + false_negative * np.sum(~predicted & truth)
    return -float(cost) / max(len(truth), 1)


def metric_score(y_true: Any, y_pred: Any, *, metric: str, pos_label: Any) -> float:
    """A TUNABLE_METRICS metric of the labels. `pos_label` is taken by every one, so that the
    tuning scores the positive class's probability even for a metric blind to which class is
    positive (scikit-learn otherwise thresholds the second class in sorted order)."""
    from sklearn import metrics

    if metric == "f1":
        return float(metrics.f1_score(y_true, y_pred, pos_label=pos_label))
    return float(getattr(metrics, f"{metric}_score")(y_true, y_pred))


def _scorer(setting: Any, pos_label: Any) -> Any:
    from sklearn.metrics import make_scorer

    if setting.costs is not None:
        return make_scorer(
            negative_expected_cost,
            pos_label=pos_label,
            false_positive=setting.costs.false_positive,
            false_negative=setting.costs.false_negative,
        )
    return make_scorer(metric_score, metric=setting.maximize, pos_label=pos_label)


def positive_label(y: pd.Series, positive_class: str) -> Any:
    """The value in the target that data.positive_class names (`1` for '1')."""
    return next(value for value in y.unique() if str(value) == positive_class)


def fit_with_threshold(
    pipeline: Any, setting: Any, x: pd.DataFrame, y: pd.Series, positive_class: str | None, cv: Any
) -> Thresholded:
    """Fit `pipeline` on these (training) rows, with the decision threshold `setting`
    (model.decision_threshold; the config and the data checks made it binary, with the
    positive class among the two). Tuning sees these rows only, on the `folds` given."""
    if setting is None:
        return Thresholded(pipeline.fit(x, y), None, rule_text(None))
    from sklearn.model_selection import FixedThresholdClassifier, TunedThresholdClassifierCV

    pos_label = positive_label(y, positive_class)
    if isinstance(setting, float | int):
        fitted, threshold = pipeline.fit(x, y), float(setting)
    else:
        tuned = TunedThresholdClassifierCV(
            pipeline, scoring=_scorer(setting, pos_label), cv=cv, response_method="predict_proba"
        ).fit(x, y)
        fitted, threshold = tuned.estimator_, float(tuned.best_threshold_)
    # Unfitted itself around the fitted pipeline: scikit-learn then uses that one as it is.
    model = FixedThresholdClassifier(
        fitted, threshold=threshold, pos_label=pos_label, response_method="predict_proba"
    )
    return Thresholded(model, threshold, rule_text(setting))


def decision_threshold(model: Any) -> float | None:
    """The threshold a model applies, or None when it applies its estimator's own predict."""
    from sklearn.model_selection import FixedThresholdClassifier

    if isinstance(model, FixedThresholdClassifier) and model.threshold != "auto":
        return float(model.threshold)
    return None


def inner_model(model: Any) -> Any:
    """The fitted pipeline inside a model with a decision threshold (or the model itself)."""
    if decision_threshold(model) is None:
        return model
    return getattr(model, "estimator_", model.estimator)

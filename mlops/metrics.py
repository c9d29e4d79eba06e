"""The metrics the pipeline knows: the problem shapes each applies to, its range, and which
way is better.

A metric applies to one or more problem shapes: `binary` (classification with a
`data.positive_class`: metrics about that class), `multiclass` (classification without one:
two or more classes, averaged as the name says) and `regression`. `accuracy`, `log_loss` and
the averaged metrics apply to both kinds of classification.

Each metric is computed two ways: by scikit-learn on the rows (the reported value), and from
weighted sums (`Sums`) so that a thousand bootstrap resamples cost a few array products instead
of a thousand scikit-learn calls (mlops/bootstrap.py). Tests hold the two equal.

Classification metrics take class codes (each row's index into the sorted list of classes)
and a probability matrix (rows × classes; NaN in the column of a class the model does not
know). Where scikit-learn averages over classes it takes those in the truth or the
predictions (a class predicted but absent from the truth counts, with a score of 0);
`balanced_accuracy` and `roc_auc_ovr` take the classes present in the truth.
"""

import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

Task = Literal["classification", "regression"]
Shape = Literal["binary", "multiclass", "regression"]
SHAPE_WORDS: dict[Shape, str] = {
    "binary": "binary classification (with data.positive_class)",
    "multiclass": "multiclass classification (no data.positive_class)",
    "regression": "regression",
}
CLASSIFICATION: tuple[Shape, ...] = ("binary", "multiclass")
# The label-based metrics a decision threshold can be tuned toward (mlops/decision_threshold.py).
TUNABLE_METRICS = ("f1", "accuracy", "balanced_accuracy")


def shape_of(task: Task, positive_class: str | None) -> Shape:
    """The problem shape the config describes: a positive class makes classification binary."""
    if task == "regression":
        return "regression"
    return "multiclass" if positive_class is None else "binary"


def class_names(values: Iterable[Any]) -> list[str]:
    """Class labels as text (how the config names them: '1', 'RT'), each once, numbers in
    numeric order (2 before 10) before other text."""

    def order(name: str) -> tuple[int, float, str]:
        try:
            return 0, float(name), name
        except ValueError:
            return 1, 0.0, name

    return sorted({str(value) for value in values}, key=order)


@dataclass(frozen=True)
class Predictions:
    """What a model said about the rows. Classification: `labels` holds class codes,
    `scores` the probability of each class (rows × classes, NaN for a class the model does
    not know). Regression: `labels` and `scores` are both the predicted numbers."""

    labels: np.ndarray
    scores: np.ndarray


@dataclass(frozen=True)
class Metric:
    name: str
    shapes: tuple[Shape, ...]
    greater_is_better: bool
    lowest: float  # -math.inf / math.inf when unbounded
    highest: float
    # (truth, predictions, positive class code or None) -> value, by scikit-learn.
    compute: Callable[[np.ndarray, Predictions, int | None], float]
    # Sums -> values, one per resample (arrays of the same shape as the sums).
    from_sums: Callable[[Any], np.ndarray]
    # In the target's units (an error in currency, say) rather than a unitless score.
    in_target_units: bool = False
    # Which classes' scores must be ranked (the costly part of a resample): "positive" or "every".
    ranks: str | None = None


@dataclass(frozen=True)
class Sums:
    """Weighted sums over the rows of one resample (one entry per resample).

    Both tasks: `rows` (resamples: the rows drawn, which vary when whole groups or blocks
    are drawn). Classification: the `support` of each class (resamples × classes), the
    `positive` class's code (binary) or None, `confusion` (resamples × true class ×
    predicted class counts), `log_loss_total`, and `ordered_pairs` (resamples × classes: for
    each ranked class, the pairs of one of its rows and another class's row that its score
    orders correctly, ties counting half; NaN for classes not ranked). Regression:
    `squared_error`, `absolute_error`, `target`, `target_squared`. Fields of the other task
    are None.
    """

    rows: Any = None
    support: np.ndarray | None = None
    positive: int | None = None
    confusion: np.ndarray | None = None
    log_loss_total: np.ndarray | None = None
    ordered_pairs: np.ndarray | None = None
    squared_error: np.ndarray | None = None
    absolute_error: np.ndarray | None = None
    target: np.ndarray | None = None
    target_squared: np.ndarray | None = None

    @property
    def true_positives(self) -> np.ndarray:
        """resamples × classes: rows of each class predicted as that class."""
        return np.diagonal(self.confusion, axis1=1, axis2=2)

    @property
    def predicted(self) -> np.ndarray:
        """resamples × classes: rows predicted as each class."""
        return self.confusion.sum(axis=1)


def _sk() -> Any:
    """scikit-learn's metrics module, imported on first use (config loading needs none of it)."""
    from sklearn import metrics

    return metrics


def _ratio(numerator: np.ndarray, denominator: Any) -> np.ndarray:
    """numerator / denominator, 0 where the denominator is 0 (scikit-learn's zero_division=0)."""
    numerator = np.asarray(numerator, dtype="float64")
    denominator = np.broadcast_to(np.asarray(denominator, dtype="float64"), numerator.shape)
    return np.divide(numerator, denominator, out=np.zeros_like(numerator), where=denominator != 0)


def _mean_over(values: np.ndarray, counted: np.ndarray) -> np.ndarray:
    """Per resample, the mean of `values` over the classes `counted` (NaN where none is)."""
    counted = np.broadcast_to(counted, values.shape)
    total = np.where(counted, values, 0.0).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / counted.sum(axis=-1)


# ---------------------------------------------------------------- from sums


def _positive_f1(s: Sums) -> np.ndarray:
    p = s.positive
    return _ratio(2 * s.true_positives[:, p], s.support[:, p] + s.predicted[:, p])


def _pairs(s: Sums) -> np.ndarray:
    """resamples × classes: pairs of one row of the class and one row of another class."""
    return s.support * (s.rows[:, None] - s.support)


def _positive_roc_auc(s: Sums) -> np.ndarray:
    pairs = _pairs(s)[:, s.positive]
    # Undefined in a resample with no pair: its rows are all of one class.
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(pairs > 0, s.ordered_pairs[:, s.positive] / pairs, math.nan)


def _in_union(s: Sums) -> np.ndarray:
    """resamples × classes: the classes scikit-learn averages over, those in the truth or
    the predictions of the resample."""
    return (s.support + s.predicted) > 0


def _f1_per_class(s: Sums) -> np.ndarray:
    return _ratio(2 * s.true_positives, s.support + s.predicted)


def _roc_auc_ovr(s: Sums) -> np.ndarray:
    pairs = _pairs(s)
    present = pairs > 0  # in the resample, beside another class
    with np.errstate(invalid="ignore", divide="ignore"):
        # NaN stays NaN: a class a model has no probability for leaves the mean undefined.
        mean = _mean_over(s.ordered_pairs / pairs, present)
    return np.where(present.sum(axis=1) >= 2, mean, math.nan)


def _r2_from_sums(s: Sums) -> np.ndarray:
    spread = s.target_squared - s.target**2 / s.rows
    # Constant target (up to rounding): undefined, as in the row-wise metric.
    constant = spread <= 1e-12 * np.maximum(s.target_squared, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(constant, math.nan, 1.0 - s.squared_error / spread)


# ---------------------------------------------------------------- row by row (scikit-learn)


def _quietly(compute: Callable[..., float]) -> Callable[..., float]:
    """scikit-learn warns where these definitions are deliberate (a class predicted but
    absent from the truth, an undefined score)."""

    def run(*args: Any, **options: Any) -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return float(compute(*args, **options))

    return run


def _binary(score: str, **options: Any) -> Callable[[np.ndarray, Predictions, int], float]:
    """A scikit-learn score of the positive class (True) against the rest."""
    return _quietly(
        lambda t, m, p: getattr(_sk(), score)(t == p, m.labels == p, zero_division=0, **options)
    )


def _averaged(score: str, average: str) -> Callable[[np.ndarray, Predictions, Any], float]:
    return _quietly(
        lambda t, m, _p: getattr(_sk(), score)(t, m.labels, average=average, zero_division=0)
    )


def _roc_auc(truth: np.ndarray, model: Predictions, positive: int) -> float:
    # Undefined (not an error) when the rows hold only one class.
    if len(np.unique(truth == positive)) < 2 or np.isnan(model.scores[:, positive]).any():
        return math.nan
    return float(_sk().roc_auc_score(truth == positive, model.scores[:, positive]))


def _ovr_roc_auc(truth: np.ndarray, model: Predictions, _positive: Any) -> float:
    """scikit-learn's one-vs-rest macro average (`roc_auc_score(multi_class="ovr")`) over the
    classes present in the truth: scikit-learn leaves it undefined when a known class is
    absent, which a rare class often is from a small held-out set."""
    present = [k for k in np.unique(truth) if 0 < (truth == k).sum() < len(truth)]
    if len(present) < 2 or np.isnan(model.scores[:, present]).any():
        return math.nan
    return float(np.mean([_sk().roc_auc_score(truth == k, model.scores[:, k]) for k in present]))


def _log_loss(truth: np.ndarray, model: Predictions, _positive: Any) -> float:
    scores = model.scores
    if np.isnan(scores[np.arange(len(truth)), truth]).any():
        return math.nan  # no probability for a true class: the model does not know it
    labels = list(range(scores.shape[1]))
    return _quietly(_sk().log_loss)(truth, np.nan_to_num(scores, nan=0.0), labels=labels)


def _r2(y_true: np.ndarray, model: Predictions, _positive: Any) -> float:
    # Undefined when the held-out target is constant.
    if len(y_true) < 2 or np.all(y_true == y_true[0]):
        return math.nan
    return float(_sk().r2_score(y_true, model.labels))


def _unit(name: str, shapes: tuple[Shape, ...], compute: Callable, from_sums: Callable, **more):
    """A score from 0 to 1, higher is better."""
    return Metric(name, shapes, True, 0.0, 1.0, compute, from_sums, **more)


METRICS: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        _unit("roc_auc", ("binary",), _roc_auc, _positive_roc_auc, ranks="positive"),
        _unit("f1", ("binary",), _binary("f1_score"), _positive_f1),
        _unit(
            "precision",
            ("binary",),
            _binary("precision_score"),
            lambda s: _ratio(s.true_positives[:, s.positive], s.predicted[:, s.positive]),
        ),
        _unit(
            "recall",
            ("binary",),
            _binary("recall_score"),
            lambda s: _ratio(s.true_positives[:, s.positive], s.support[:, s.positive]),
        ),
        _unit(
            "accuracy",
            CLASSIFICATION,
            _quietly(lambda t, m, _p: _sk().accuracy_score(t, m.labels)),
            lambda s: s.true_positives.sum(axis=1) / s.rows,
        ),
        _unit(
            "balanced_accuracy",
            CLASSIFICATION,
            _quietly(lambda t, m, _p: _sk().balanced_accuracy_score(t, m.labels)),
            lambda s: _mean_over(_ratio(s.true_positives, s.support), s.support > 0),
        ),
        _unit(
            "f1_macro",
            CLASSIFICATION,
            _averaged("f1_score", "macro"),
            lambda s: _mean_over(_f1_per_class(s), _in_union(s)),
        ),
        _unit(
            "f1_weighted",
            CLASSIFICATION,
            _averaged("f1_score", "weighted"),
            lambda s: (_f1_per_class(s) * s.support).sum(axis=1) / s.rows,
        ),
        _unit(
            "precision_macro",
            CLASSIFICATION,
            _averaged("precision_score", "macro"),
            lambda s: _mean_over(_ratio(s.true_positives, s.predicted), _in_union(s)),
        ),
        _unit(
            "recall_macro",
            CLASSIFICATION,
            _averaged("recall_score", "macro"),
            lambda s: _mean_over(_ratio(s.true_positives, s.support), _in_union(s)),
        ),
        _unit("roc_auc_ovr", CLASSIFICATION, _ovr_roc_auc, _roc_auc_ovr, ranks="every"),
        Metric(
            "log_loss",
            CLASSIFICATION,
            False,
            0.0,
            math.inf,
            _log_loss,
            lambda s: s.log_loss_total / s.rows,
        ),
        Metric(
            "rmse",
            ("regression",),
            False,
            0.0,
            math.inf,
            lambda t, m, _p: float(_sk().root_mean_squared_error(t, m.labels)),
            lambda s: np.sqrt(_ratio(s.squared_error, s.rows)),
            in_target_units=True,
        ),
        Metric(
            "mae",
            ("regression",),
            False,
            0.0,
            math.inf,
            lambda t, m, _p: float(_sk().mean_absolute_error(t, m.labels)),
            lambda s: _ratio(s.absolute_error, s.rows),
            in_target_units=True,
        ),
        Metric("r2", ("regression",), True, -math.inf, 1.0, _r2, _r2_from_sums),
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


def figures(metric: str, scale: float | None) -> Callable[..., str]:
    """`figure` at the precision every number of `metric` gets in one report (`decimals`)."""
    places = decimals(metric, scale)
    return lambda value, signed=False: figure(value, places, signed)


def metrics_for(shape: Shape) -> list[str]:
    """The names of every metric that applies to the problem shape, in their display order."""
    return [name for name, metric in METRICS.items() if shape in metric.shapes]


def compute_metrics(
    names: list[str], truth: np.ndarray, model: Predictions, positive: int | None = None
) -> dict[str, float]:
    """Each named metric of the model's predictions against the truth, by scikit-learn."""
    return {name: METRICS[name].compute(truth, model, positive) for name in names}

"""Paired bootstrap over the held-out rows: intervals for each metric and for the difference.

Candidate and champion are scored on the same rows, so one resample of rows serves both and
the interval of the difference (candidate − champion) is much narrower than two separate
intervals would suggest. Classification resamples within each class (stratified), so every
resample has the held-out class counts. Intervals are percentile intervals.

Speed: a resample is a vector of counts (how often each row was drawn), and every metric is a
function of a few count-weighted sums (`mlops.metrics.Sums`). ROC AUC comes from running
counts of one class read at the other class's scores, so no resample is sorted. Resamples are
processed in blocks of about a million cells on every core, which keeps memory flat at any
size.
"""

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from mlops.metrics import METRICS, Sums, Task

# Cells (resamples × rows) per block: about 8 MB per float64 array.
BLOCK_CELLS = 1 << 20
WORKERS = os.cpu_count() or 1
# A resampled metric that is undefined in more than this share of resamples has no interval.
MAX_UNDEFINED_SHARE = 0.01


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


@dataclass(frozen=True)
class Estimate:
    """One metric: the candidate's value and interval, the champion's value, the paired
    difference (candidate − champion) and its interval. Values are None when undefined."""

    value: float | None
    interval: Interval | None
    champion: float | None = None
    delta: float | None = None
    delta_interval: Interval | None = None


@dataclass(frozen=True)
class Predictions:
    """What a model said about the held-out rows. Classification: `labels` is True where the
    model predicts the positive class, `scores` the positive-class probability. Regression:
    `labels` and `scores` are both the predicted numbers."""

    labels: np.ndarray
    scores: np.ndarray


def _log_loss_per_row(is_positive: np.ndarray, probability: np.ndarray) -> np.ndarray:
    # scikit-learn's log_loss clips to [eps, 1 - eps] of the input's float type.
    eps = np.finfo(probability.dtype).eps
    clipped = np.clip(probability, eps, 1 - eps)
    return -np.where(is_positive, np.log(clipped), np.log1p(-clipped))


def _counts(rng: np.random.Generator, block: int, rows: int) -> np.ndarray:
    """(block, rows) float32: how often each row is drawn in each of `block` resamples.
    float32 holds counts and their running sums exactly up to 2**24 rows."""
    if rows == 0:
        return np.zeros((block, 0), dtype="float32")
    draws = rng.integers(0, rows, size=(block, rows))
    draws += np.arange(block)[:, None] * rows
    counts = np.bincount(draws.ravel(), minlength=block * rows)
    return counts.reshape(block, rows).astype("float32")


class _Classification:
    """Per-row vectors of each model, arranged once so a resample needs only products.

    ROC AUC counts, for every positive-negative pair, whether the positive scores higher (ties
    count half). Running counts over one class ("ranked", sorted by score) are read at the
    other class's scores ("probes"); the smaller class is ranked, the cheaper way round.
    Counts refer to `positive_rows` and `negative_rows`, in that order.
    """

    def __init__(self, y_true: np.ndarray, models: list[Predictions]) -> None:
        positive = np.asarray(y_true, dtype=bool)
        self.rows = len(positive)
        self.fixed = {"positives": int(positive.sum()), "negatives": int((~positive).sum())}
        self.ranked_positive = self.fixed["positives"] < self.fixed["negatives"]
        self.positive_rows, self.negative_rows = np.flatnonzero(positive), np.flatnonzero(~positive)
        ranked, probes = (
            (self.positive_rows, self.negative_rows)
            if self.ranked_positive
            else (self.negative_rows, self.positive_rows)
        )
        # The ranked class in the first model's score order: its permutation is the identity.
        ranked[:] = ranked[np.argsort(models[0].scores[ranked], kind="stable")]
        self.models = []
        for model in models:
            ranked_scores = model.scores[ranked]
            order = np.argsort(ranked_scores, kind="stable")
            sorted_scores = ranked_scores[order]
            probe_scores = model.scores[probes]
            below = np.searchsorted(sorted_scores, probe_scores, "left")
            up_to = np.searchsorted(sorted_scores, probe_scores, "right")
            pos_scores = model.scores[self.positive_rows]
            neg_scores = model.scores[self.negative_rows]
            self.models.append(
                {
                    "order": None if np.array_equal(order, np.arange(len(order))) else order,
                    "below": below,
                    "up_to": None if np.array_equal(below, up_to) else up_to,
                    "pos_predicted": model.labels[self.positive_rows].astype("float32"),
                    "neg_predicted": model.labels[self.negative_rows].astype("float32"),
                    "pos_loss": _log_loss_per_row(np.ones(len(pos_scores), bool), pos_scores),
                    "neg_loss": _log_loss_per_row(np.zeros(len(neg_scores), bool), neg_scores),
                }
            )

    def draw(self, rng: np.random.Generator, block: int) -> tuple[np.ndarray, np.ndarray]:
        # Stratified: positives and negatives are drawn separately, keeping the class counts.
        return (
            _counts(rng, block, self.fixed["positives"]),
            _counts(rng, block, self.fixed["negatives"]),
        )

    def sums(self, counts: tuple[np.ndarray, np.ndarray]) -> list[dict[str, np.ndarray]]:
        pos, neg = counts
        return [self._model_sums(model, pos, neg) for model in self.models]

    def _model_sums(self, model: dict, pos: np.ndarray, neg: np.ndarray) -> dict[str, np.ndarray]:
        ranked, probes = (pos, neg) if self.ranked_positive else (neg, pos)
        own = ranked if model["order"] is None else np.take(ranked, model["order"], axis=1)
        # running[:, k]: resampled ranked rows among the k lowest-scored ones.
        running = np.zeros((own.shape[0], own.shape[1] + 1), dtype=own.dtype)
        np.cumsum(own, axis=1, out=running[:, 1:])
        below = np.take(running, model["below"], axis=1)
        if model["up_to"] is not None:  # ties count half
            below += np.take(running, model["up_to"], axis=1)
            below *= 0.5
        below *= probes
        # Pairwise summation along rows keeps float32 totals accurate.
        probes_above_ranked = below.sum(axis=1, dtype="float64")
        if self.ranked_positive:  # pairs the other way round: positives scored above negatives
            ordered_pairs = self.fixed["positives"] * self.fixed["negatives"] - probes_above_ranked
        else:
            ordered_pairs = probes_above_ranked
        return {
            "true_positives": pos @ model["pos_predicted"].astype(pos.dtype),
            "false_positives": neg @ model["neg_predicted"].astype(neg.dtype),
            "ordered_pairs": ordered_pairs,
            "log_loss_total": pos @ model["pos_loss"] + neg @ model["neg_loss"],
        }

    def ones(self) -> tuple[np.ndarray, np.ndarray]:
        return np.ones((1, self.fixed["positives"])), np.ones((1, self.fixed["negatives"]))


class _Regression:
    def __init__(self, y_true: np.ndarray, models: list[Predictions]) -> None:
        y = np.asarray(y_true, dtype="float64")
        self.rows = len(y)
        self.fixed = {"rows": self.rows}
        self.target = np.stack([y, y * y], axis=1)
        self.errors = [
            np.stack([(m.labels - y) ** 2, np.abs(m.labels - y)], axis=1) for m in models
        ]

    def draw(self, rng: np.random.Generator, block: int) -> np.ndarray:
        return _counts(rng, block, self.rows)

    def sums(self, counts: np.ndarray) -> list[dict[str, np.ndarray]]:
        counts = counts.astype("float64")  # sums of squares need the precision
        target = counts @ self.target
        return [
            {
                "squared_error": error[:, 0],
                "absolute_error": error[:, 1],
                "target": target[:, 0],
                "target_squared": target[:, 1],
            }
            for error in (counts @ errors for errors in self.errors)
        ]

    def ones(self) -> np.ndarray:
        return np.ones((1, self.rows))


def _resampled_sums(sample: _Classification | _Regression, resamples: int, seed: int) -> list[Sums]:
    """One `Sums` per model over all resamples. Blocks run on threads (NumPy releases the
    GIL); each block has its own seed, so the numbers do not depend on the threads."""
    size = max(1, min(resamples, BLOCK_CELLS // max(sample.rows, 1)))
    blocks = [min(size, resamples - start) for start in range(0, resamples, size)]
    seeds = np.random.SeedSequence(seed).spawn(len(blocks))

    def run(seed_sequence: np.random.SeedSequence, block: int) -> list[dict[str, np.ndarray]]:
        return sample.sums(sample.draw(np.random.default_rng(seed_sequence), block))

    if len(blocks) == 1:  # small held-out sets: threads would cost more than they save
        results = [run(seeds[0], blocks[0])]
    else:
        # One BLAS thread per worker: BLAS's own threads would compete with the workers.
        with threadpool_limits(1, user_api="blas"), ThreadPoolExecutor(WORKERS) as pool:
            results = list(pool.map(run, seeds, blocks))
    return [
        Sums(
            **sample.fixed,
            **{
                key: np.concatenate([result[m][key] for result in results]) for key in results[0][m]
            },
        )
        for m in range(len(results[0]))
    ]


def _interval(values: np.ndarray, confidence: float) -> Interval | None:
    finite = values[np.isfinite(values)]
    if len(finite) == 0 or len(finite) < (1 - MAX_UNDEFINED_SHARE) * len(values):
        return None
    alpha = 1 - confidence
    low, high = np.quantile(finite, [alpha / 2, 1 - alpha / 2])
    return Interval(float(low), float(high))


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def paired_bootstrap(
    task: Task,
    metric_names: list[str],
    y_true: np.ndarray,
    candidate: Predictions,
    champion: Predictions | None,
    confidence: float,
    resamples: int,
    seed: int,
) -> dict[str, Estimate]:
    """Each metric's candidate value with its interval and, with a champion, the champion's
    value and the paired difference with its interval. The same seed gives the same numbers.
    `resamples=0` gives the values without intervals."""
    models = [candidate] if champion is None else [candidate, champion]
    sample = (_Regression if task == "regression" else _Classification)(y_true, models)
    observed = [Sums(**sample.fixed, **sums) for sums in sample.sums(sample.ones())]
    resampled = _resampled_sums(sample, resamples, seed) if resamples else None
    estimates = {}
    for name in metric_names:
        compute = METRICS[name].from_sums
        values = [compute(sums)[0] for sums in observed]
        draws = [compute(sums) for sums in resampled] if resampled else None
        paired = {}
        if champion is not None:
            paired = {
                "champion": _finite(values[1]),
                "delta": _finite(values[0] - values[1]),
                "delta_interval": _interval(draws[0] - draws[1], confidence) if draws else None,
            }
        estimates[name] = Estimate(
            value=_finite(values[0]),
            interval=_interval(draws[0], confidence) if draws else None,
            **paired,
        )
    return estimates

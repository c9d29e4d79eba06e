"""Paired bootstrap over the held-out rows: intervals for each metric and for the difference.

Candidate and champion are scored on the same rows, so one resample of rows serves both and
the interval of the difference (candidate − champion) is much narrower than two separate
intervals would suggest. Classification resamples within each class (stratified), so every
resample has the held-out class counts. Intervals are percentile intervals.

Speed: a resample is a vector of counts (how often each row was drawn), and every metric is a
function of a few count-weighted sums (`mlops.metrics.Sums`): a confusion matrix per resample
is one matrix product per class, and a class's one-vs-rest ROC AUC comes from running counts
of its rows read at the other rows' scores, so no resample is sorted. Resamples are processed
in blocks of about a million cells on every core, which keeps memory flat at any size.
"""

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from mlops.metrics import METRICS, Predictions, Sums, Task

# Cells (resamples × rows) per block: about 8 MB per float64 array.
BLOCK_CELLS = 1 << 20
WORKERS = os.cpu_count() or 1
# A resampled metric that is undefined in more than this share of resamples has no interval.
MAX_UNDEFINED_SHARE = 0.01

__all__ = ["Estimate", "Interval", "Predictions", "paired_bootstrap"]


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


def _log_loss_per_row(truth: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Each row's -log of its true class's probability, clipped as scikit-learn's log_loss
    clips (to [eps, 1 - eps] of the float type); NaN where the model has no such class."""
    probability = scores[np.arange(len(truth)), truth]
    eps = np.finfo(probability.dtype).eps
    return -np.log(np.clip(probability, eps, 1 - eps))


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

    Rows are grouped by true class (`strata`, the classes in code order); each resample draws
    counts within each group. A ranked class k's ROC AUC counts, for every pair of a row of
    class k and a row of another class, whether class k's score orders them (ties count
    half): running counts over class k's rows sorted by that score are read at the other
    rows' scores. Class k's rows are kept in the first model's order of that score, so the
    first model needs no reordering.
    """

    def __init__(
        self, truth: np.ndarray, models: list[Predictions], positive: int | None, ranks: str | None
    ) -> None:
        truth = np.asarray(truth, dtype="int64")
        classes = models[0].scores.shape[1]
        self.rows = len(truth)
        support = np.bincount(truth, minlength=classes)
        self.fixed = {"rows": self.rows, "support": support, "positive": positive}
        ranked = {
            None: [],
            "positive": [positive],
            "every": [k for k in range(classes) if 0 < support[k] < self.rows],
        }[ranks]
        self.strata = []
        for k in range(classes):
            rows = np.flatnonzero(truth == k)
            if k in ranked:
                rows = rows[np.argsort(models[0].scores[rows, k], kind="stable")]
            self.strata.append(rows)
        self.models = [self._arrange(model, truth, ranked) for model in models]

    def _arrange(self, model: Predictions, truth: np.ndarray, ranked: list[int]) -> dict:
        classes = model.scores.shape[1]
        one_hot = np.eye(classes, dtype="float32")
        loss = _log_loss_per_row(truth, model.scores)
        arranged = {
            "predicted": [one_hot[model.labels[rows]] for rows in self.strata],
            "loss": [loss[rows] for rows in self.strata],
            "ranked": {},
        }
        for k in ranked:
            scores = model.scores[:, k]
            if np.isnan(scores).any():
                continue  # a class the model does not know: no ranking, no AUC
            own = scores[self.strata[k]]
            order = np.argsort(own, kind="stable")
            sorted_scores = own[order]
            probes = []
            for j, rows in enumerate(self.strata):
                if j == k or not len(rows):
                    continue
                below = np.searchsorted(sorted_scores, scores[rows], "left")
                up_to = np.searchsorted(sorted_scores, scores[rows], "right")
                probes.append((j, below, None if np.array_equal(below, up_to) else up_to))
            identity = np.array_equal(order, np.arange(len(order)))
            arranged["ranked"][k] = (None if identity else order, probes)
        return arranged

    def draw(self, rng: np.random.Generator, block: int) -> list[np.ndarray]:
        # Stratified: each class's rows are drawn separately, keeping the class counts.
        return [_counts(rng, block, len(rows)) for rows in self.strata]

    def sums(self, counts: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
        return [self._model_sums(model, counts) for model in self.models]

    def _model_sums(self, model: dict, counts: list[np.ndarray]) -> dict[str, np.ndarray]:
        block, support = counts[0].shape[0], self.fixed["support"]
        classes = len(self.strata)
        # float32 products are exact: every sum is a whole number below 2**24.
        confusion = np.stack(
            [c @ one_hot for c, one_hot in zip(counts, model["predicted"], strict=True)], axis=1
        ).astype("float64")
        log_loss_total = sum(c @ loss for c, loss in zip(counts, model["loss"], strict=True))
        ordered_pairs = np.full((block, classes), math.nan)
        for k, (order, probes) in model["ranked"].items():
            own = counts[k] if order is None else np.take(counts[k], order, axis=1)
            # running[:, i]: resampled rows of class k among its i lowest-scored ones.
            running = np.zeros((block, own.shape[1] + 1), dtype=own.dtype)
            np.cumsum(own, axis=1, out=running[:, 1:])
            total = np.zeros(block)
            for j, below, up_to in probes:
                lower = np.take(running, below, axis=1)
                if up_to is not None:  # ties count half
                    lower += np.take(running, up_to, axis=1)
                    lower *= 0.5
                lower *= counts[j]
                # Pairwise summation along rows keeps float32 totals accurate.
                total += lower.sum(axis=1, dtype="float64")
            # `total` counts pairs where the other row scores above; class k wants the rest.
            ordered_pairs[:, k] = support[k] * (self.rows - support[k]) - total
        return {
            "confusion": confusion,
            "log_loss_total": np.asarray(log_loss_total, dtype="float64"),
            "ordered_pairs": ordered_pairs,
        }

    def ones(self) -> list[np.ndarray]:
        return [np.ones((1, len(rows)), dtype="float32") for rows in self.strata]


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
    positive: int | None = None,
) -> dict[str, Estimate]:
    """Each metric's candidate value with its interval and, with a champion, the champion's
    value and the paired difference with its interval. The same seed gives the same numbers.
    `resamples=0` gives the values without intervals. Classification: `y_true` holds class
    codes and `positive` the positive class's code (binary metrics) or None."""
    models = [candidate] if champion is None else [candidate, champion]
    if task == "regression":
        sample: _Classification | _Regression = _Regression(y_true, models)
    else:
        ranks = {METRICS[name].ranks for name in metric_names}
        ranked = "every" if "every" in ranks else "positive" if "positive" in ranks else None
        sample = _Classification(y_true, models, positive, ranked)
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

"""Paired bootstrap over the held-out rows: intervals for each metric and for the difference.

Candidate and champion are scored on the same rows, so one resample of rows serves both and
the interval of the difference (candidate − champion) is much narrower than two separate
intervals would suggest. Intervals are percentile intervals. What a resample draws follows
the held-out split (`Resampling`):

- rows one by one, after a random split; for classification within each class (stratified,
  as the split was), so every resample has the held-out class counts;
- whole groups, after a grouped split (a cluster bootstrap): rows of one group are
  correlated, so the group is what varies from one held-out set to another;
- circular blocks of consecutive times, after a time-ordered split (Politis and Romano's
  circular block bootstrap over the distinct held-out times, about n^(1/3) times a block),
  so the dependence between nearby times is kept inside each block.

Groups and blocks are not stratified by class: another set of groups or another period would
hold other class counts, and the resamples let them vary. With fewer than MIN_UNITS groups,
or MIN_TIMES times (MIN_UNITS blocks), there are no intervals: a percentile interval over so
few is too narrow to mean anything.

Speed: a resample is a vector of counts (how often each row was drawn; a row counts as often
as its group or time was drawn), and every metric is a function of a few count-weighted sums
(`mlops.metrics.Sums`): a confusion matrix per resample is one matrix product per class, and
a class's one-vs-rest ROC AUC comes from running counts of its rows read at the other rows'
scores, so no resample is sorted. Resamples are processed in blocks of about a million cells
on every core, which keeps memory flat at any size.
"""

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from threadpoolctl import threadpool_limits

if TYPE_CHECKING:
    import pandas as pd

from mlops.metrics import METRICS, Predictions, Sums, Task

# Cells (resamples × rows) per block: about 8 MB per float64 array.
BLOCK_CELLS = 1 << 20
WORKERS = os.cpu_count() or 1
# A resampled metric that is undefined in more than this share of resamples has no interval.
MAX_UNDEFINED_SHARE = 0.01
# Fewest held-out groups a resample may draw from for an interval. On the grouped simulation
# of tests/test_bootstrap.py a 95% interval covered the true difference 92% of the time with
# 20 groups and 89% with 10: fewer, and it pretends.
MIN_UNITS = 20
# Fewest distinct held-out times, likewise: 20 blocks of 5, and at least 20 blocks for any
# number of times from there on (just below, a longer block can leave fewer).
MIN_TIMES = 100

__all__ = ["Estimate", "Interval", "Predictions", "Resampling", "paired_bootstrap"]


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


def _tally(drawn: np.ndarray, size: int) -> np.ndarray:
    """(resamples, size) float32: how often each of `size` items appears in each row of
    `drawn` (positions, one row per resample). float32 holds counts and their running sums
    exactly up to 2**24 rows."""
    resamples = len(drawn)
    drawn += np.arange(resamples)[:, None] * size
    counts = np.bincount(drawn.ravel(), minlength=resamples * size)
    return counts.reshape(resamples, size).astype("float32")


def _counts(rng: np.random.Generator, block: int, rows: int) -> np.ndarray:
    """(block, rows) float32: how often each of `rows` items (rows, or groups) is drawn in
    each of `block` resamples of `rows` draws with replacement."""
    if rows == 0:
        return np.zeros((block, 0), dtype="float32")
    return _tally(rng.integers(0, rows, size=(block, rows)), rows)


def _circular_blocks(
    rng: np.random.Generator, resamples: int, units: int, length: int
) -> np.ndarray:
    """(resamples, units) positions among `units` ordered items: each resample strings
    together blocks of `length` consecutive positions from random starts, the last position
    followed by the first (circular, so every item is equally likely), cut to `units`."""
    blocks = math.ceil(units / length)
    starts = rng.integers(0, units, size=(resamples, blocks))
    drawn = (starts[:, :, None] + np.arange(length)).reshape(resamples, blocks * length)
    return drawn[:, :units] % units


def block_length(times: int) -> int:
    """Consecutive times per block: the whole number nearest to times^(1/3), the order that
    balances a block's bias (dependence cut at its ends) against its variance (few blocks)."""
    return max(1, round(times ** (1 / 3)))


@dataclass(frozen=True)
class Resampling:
    """What a resample draws with replacement from the held-out rows: the rows one by one
    (`by="rows"`, stratified by class for classification), whole groups (`"groups"`), or
    circular blocks of `block` consecutive times (`"blocks"`). `unit` gives each held-out
    row its group's code, or its time's rank among the `units` distinct held-out times; rows
    of one unit are drawn together."""

    by: Literal["rows", "groups", "blocks"] = "rows"
    unit: np.ndarray | None = None
    units: int = 0
    block: int = 1

    @classmethod
    def of_groups(cls, groups: "pd.Series | np.ndarray") -> "Resampling":
        """Whole groups of `groups` (one value per held-out row, in the rows' order)."""
        import pandas as pd  # here: the config check imports this module, and stays light

        codes, names = pd.factorize(groups)
        return cls("groups", codes, len(names))

    @classmethod
    def of_times(cls, times: "pd.Series | np.ndarray") -> "Resampling":
        """Blocks of consecutive distinct `times` (one per held-out row, in the rows'
        order); rows that share a time are drawn together."""
        import pandas as pd

        codes, distinct = pd.factorize(times, sort=True)
        return cls("blocks", codes, len(distinct), block_length(len(distinct)))

    @property
    def draws(self) -> int:
        """Groups or blocks drawn per resample (the independent pieces of the held-out set)."""
        return math.ceil(self.units / self.block)

    @property
    def too_few(self) -> bool:
        """Too few groups (MIN_UNITS) or times (MIN_TIMES) for an interval to mean anything."""
        least = {"rows": 0, "groups": MIN_UNITS, "blocks": MIN_TIMES}[self.by]
        return self.units < least

    @property
    def shortfall(self) -> str | None:
        """Why there are no intervals, naming the split's key, when there are too few groups
        or times; None when there are enough."""
        if not self.too_few:
            return None
        if self.by == "groups":
            return (
                f"the held-out rows hold {self.units} group(s) of split.group_column, and a "
                f"bootstrap of whole groups needs at least {MIN_UNITS}"
            )
        return (
            f"the held-out rows hold {self.units} distinct time(s) of split.time_column, and "
            f"a bootstrap of blocks of consecutive times needs at least {MIN_TIMES}"
        )

    def about(self) -> dict[str, Any]:
        """What evaluation.json records of it: what was drawn, and how many."""
        if self.by == "groups":
            return {"by": "groups", "groups": self.units}
        if self.by == "blocks":
            return {"by": "blocks", "times": self.units, "block": self.block, "blocks": self.draws}
        return {"by": "rows"}

    def unit_counts(self, rng: np.random.Generator, resamples: int) -> np.ndarray:
        """(resamples, units) float32: how often each group or time is drawn in each."""
        if self.by == "groups":
            return _counts(rng, resamples, self.units)
        return _tally(_circular_blocks(rng, resamples, self.units, self.block), self.units)


class _Classification:
    """Per-row vectors of each model, arranged once so a resample needs only products.

    Rows are arranged by true class (`strata`, the classes in code order); a resample of rows
    draws counts within each class, one of groups or blocks gives each row its unit's count.
    A ranked class k's ROC AUC counts, for every pair of a row of class k and a row of
    another class, whether class k's score orders them (ties count half): running counts
    over class k's rows sorted by that score are read at the other rows' scores. Class k's
    rows are kept in the first model's order of that score, so the first model needs no
    reordering.
    """

    def __init__(
        self,
        truth: np.ndarray,
        models: list[Predictions],
        positive: int | None,
        ranks: str | None,
        resampling: Resampling = Resampling(),
    ) -> None:
        truth = np.asarray(truth, dtype="int64")
        classes = models[0].scores.shape[1]
        self.rows = len(truth)
        support = np.bincount(truth, minlength=classes)
        self.fixed = {"positive": positive}
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
        self.resampling = resampling
        if resampling.by != "rows":
            self.units = [resampling.unit[rows] for rows in self.strata]
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
        if self.resampling.by == "rows":
            # Stratified: each class's rows are drawn separately, keeping the class counts.
            return [_counts(rng, block, len(rows)) for rows in self.strata]
        counts = self.resampling.unit_counts(rng, block)
        return [np.take(counts, units, axis=1) for units in self.units]

    def sums(self, counts: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
        return [self._model_sums(model, counts) for model in self.models]

    def _model_sums(self, model: dict, counts: list[np.ndarray]) -> dict[str, np.ndarray]:
        block, classes = counts[0].shape[0], len(self.strata)
        # float32 products are exact: every sum is a whole number below 2**24.
        confusion = np.stack(
            [c @ one_hot for c, one_hot in zip(counts, model["predicted"], strict=True)], axis=1
        ).astype("float64")
        # Each drawn row is predicted as exactly one class: a class's rows are its row's sum.
        support = confusion.sum(axis=2)
        rows = support.sum(axis=1)
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
            ordered_pairs[:, k] = support[:, k] * (rows - support[:, k]) - total
        return {
            "rows": rows,
            "support": support,
            "confusion": confusion,
            "log_loss_total": np.asarray(log_loss_total, dtype="float64"),
            "ordered_pairs": ordered_pairs,
        }

    def ones(self) -> list[np.ndarray]:
        return [np.ones((1, len(rows)), dtype="float32") for rows in self.strata]


class _Regression:
    def __init__(
        self, y_true: np.ndarray, models: list[Predictions], resampling: Resampling = Resampling()
    ) -> None:
        y = np.asarray(y_true, dtype="float64")
        self.rows = len(y)
        self.fixed: dict[str, Any] = {}
        self.resampling = resampling
        self.target = np.stack([y, y * y], axis=1)
        self.errors = [
            np.stack([(m.labels - y) ** 2, np.abs(m.labels - y)], axis=1) for m in models
        ]

    def draw(self, rng: np.random.Generator, block: int) -> np.ndarray:
        if self.resampling.by == "rows":
            return _counts(rng, block, self.rows)
        return np.take(self.resampling.unit_counts(rng, block), self.resampling.unit, axis=1)

    def sums(self, counts: np.ndarray) -> list[dict[str, np.ndarray]]:
        counts = counts.astype("float64")  # sums of squares need the precision
        target, rows = counts @ self.target, counts.sum(axis=1)
        return [
            {
                "rows": rows,
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
    resampling: Resampling = Resampling(),
) -> dict[str, Estimate]:
    """Each metric's candidate value with its interval and, with a champion, the champion's
    value and the paired difference with its interval. The same seed gives the same numbers.
    `resamples=0`, or too few groups or blocks to resample (`resampling.too_few`), gives the
    values without intervals. Classification: `y_true` holds class codes and `positive` the
    positive class's code (binary metrics) or None. `resampling`: what a resample draws (rows
    by default; `Resampling.of_groups`, `Resampling.of_times`)."""
    models = [candidate] if champion is None else [candidate, champion]
    if task == "regression":
        sample: _Classification | _Regression = _Regression(y_true, models, resampling)
    else:
        ranks = {METRICS[name].ranks for name in metric_names}
        ranked = "every" if "every" in ranks else "positive" if "positive" in ranks else None
        sample = _Classification(y_true, models, positive, ranked, resampling)
    observed = [Sums(**sample.fixed, **sums) for sums in sample.sums(sample.ones())]
    if resampling.too_few:
        resamples = 0
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

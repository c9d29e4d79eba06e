"""The paired bootstrap: the same numbers as scikit-learn, reproducible, and intervals whose
coverage is near nominal on simulated held-out sets with a known true difference; for a
grouped or time-ordered split, resamples of whole groups or of blocks of consecutive times."""

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm
from sklearn.metrics import f1_score, roc_auc_score
from threadpoolctl import threadpool_limits

from mlops.bootstrap import (
    MIN_TIMES,
    MIN_UNITS,
    Resampling,
    _circular_blocks,
    _Classification,
    _Regression,
    block_length,
    paired_bootstrap,
)
from mlops.metrics import METRICS, Predictions, Sums, compute_metrics, metrics_for

BINARY = metrics_for("binary")
MULTICLASS = metrics_for("multiclass")


def binary(scores: np.ndarray, cut: float = 0.5) -> Predictions:
    """Positive-class scores as the metrics take them: codes (1 = positive) and both columns."""
    return Predictions((scores > cut).astype(int), np.column_stack([1 - scores, scores]))


def classification_case(rows: int, seed: int, ties: bool = False, share: float = 0.3):
    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < share).astype(int)
    scores = [1 / (1 + np.exp(-(y * shift + rng.normal(size=rows)))) for shift in (1.2, 0.9)]
    if ties:  # tree ensembles give many equal scores
        scores = [np.round(s, 2) for s in scores]
    return y, [binary(s) for s in scores]


def multiclass_case(rows: int, seed: int, shares: list[float], ties: bool = False):
    """Class codes drawn with `shares`, and two models whose probabilities favour the true
    class (the first more than the second)."""
    rng = np.random.default_rng(seed)
    y = rng.choice(len(shares), rows, p=shares)
    models = []
    for shift in (1.5, 1.0):
        logits = rng.normal(size=(rows, len(shares)))
        logits[np.arange(rows), y] += shift
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        if ties:
            probabilities = np.round(probabilities, 2)
        models.append(Predictions(probabilities.argmax(axis=1), probabilities))
    return y, models


def regression_case(rows: int, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.normal(10, 3, rows)
    predictions = [y + rng.normal(0, sd, rows) for sd in (1.0, 1.2)]
    return y, [Predictions(p, p) for p in predictions]


def assert_resample_equals_scikit_learn(
    y, models, names, positive=None, resampling=None, resamples=1
):
    """Counts in, sums out: the same as scikit-learn on the rows repeated that many times,
    in each of `resamples` resamples."""
    ranks = "every" if "roc_auc_ovr" in names else "positive" if "roc_auc" in names else None
    resampling = resampling or Resampling()
    sample = _Classification(y, models, positive, ranks, resampling)
    counts = sample.draw(np.random.default_rng(4), resamples)
    resampled = [Sums(**sample.fixed, **sums) for sums in sample.sums(counts)]
    for r in range(resamples):
        rows = np.concatenate(
            [
                np.repeat(rows, c[r].astype(int))
                for rows, c in zip(sample.strata, counts, strict=True)
            ]
        )
        if resampling.by == "rows":  # stratified: the held-out class counts
            assert len(rows) == len(y)
            assert (
                np.bincount(y[rows], minlength=len(counts)) == np.bincount(y, minlength=len(counts))
            ).all()
        for model, total in zip(models, resampled, strict=True):
            drawn = Predictions(model.labels[rows], model.scores[rows])
            expected = compute_metrics(names, y[rows], drawn, positive)
            for name in names:
                assert METRICS[name].from_sums(total)[r] == pytest.approx(
                    expected[name], rel=1e-6, nan_ok=True
                ), (name, r)


@pytest.mark.parametrize("share", [0.3, 0.7])
@pytest.mark.parametrize("ties", [False, True])
def test_values_equal_scikit_learns(ties, share):
    y, (candidate, champion) = classification_case(500, seed=1, ties=ties, share=share)
    estimates = paired_bootstrap("classification", BINARY, y, candidate, champion, 0.95, 0, 0, 1)
    for model, key in ((candidate, "value"), (champion, "champion")):
        expected = compute_metrics(BINARY, y, model, 1)
        for name, estimate in estimates.items():
            assert getattr(estimate, key) == pytest.approx(expected[name], rel=1e-12), name
    assert all(e.interval is None and e.delta_interval is None for e in estimates.values())


@pytest.mark.parametrize("ties", [False, True])
def test_multiclass_values_equal_scikit_learns(ties):
    y, models = multiclass_case(800, seed=2, shares=[0.5, 0.3, 0.15, 0.05], ties=ties)
    estimates = paired_bootstrap("classification", MULTICLASS, y, *models, 0.95, 0, 0)
    for model, key in zip(models, ("value", "champion"), strict=True):
        expected = compute_metrics(MULTICLASS, y, model)
        for name in MULTICLASS:
            assert getattr(estimates[name], key) == pytest.approx(expected[name], rel=1e-12), name
    # Every class present: scikit-learn's own one-vs-rest average (of probabilities that sum
    # to one, which rounded ones no longer do).
    if not ties:
        assert estimates["roc_auc_ovr"].value == pytest.approx(
            roc_auc_score(y, models[0].scores, multi_class="ovr"), rel=1e-12
        )


def test_regression_values_equal_scikit_learns():
    y, (candidate, champion) = regression_case(400, seed=2)
    estimates = paired_bootstrap(
        "regression", ["rmse", "mae", "r2"], y, candidate, champion, 0.9, 0, 0
    )
    expected = compute_metrics(["rmse", "mae", "r2"], y, candidate)
    for name, estimate in estimates.items():
        assert estimate.value == pytest.approx(expected[name], rel=1e-10), name


@pytest.mark.parametrize("share", [0.3, 0.7])
@pytest.mark.parametrize("ties", [False, True])
def test_a_resample_equals_scikit_learn_on_the_drawn_rows(ties, share):
    y, models = classification_case(300, seed=3, ties=ties, share=share)
    assert_resample_equals_scikit_learn(y, models, BINARY, positive=1)
    assert_resample_equals_scikit_learn(y, models, MULTICLASS)  # averaged metrics on two classes


@pytest.mark.parametrize("ties", [False, True])
def test_a_multiclass_resample_equals_scikit_learn_on_the_drawn_rows(ties):
    y, models = multiclass_case(500, seed=5, shares=[0.4, 0.3, 0.2, 0.1], ties=ties)
    assert_resample_equals_scikit_learn(y, models, MULTICLASS)


def test_a_two_row_class_keeps_its_two_rows_in_every_resample():
    """A rare class resampled within itself: always two rows (the same one twice, at times),
    so a resample never loses the class or gains a third."""
    y, models = multiclass_case(400, seed=6, shares=[0.6, 0.4])
    y[[3, 250]] = 2  # a third class of two rows, which the models never predict
    scores = np.column_stack([models[0].scores, np.full(len(y), 0.01)])
    scores /= scores.sum(axis=1, keepdims=True)
    model = Predictions(models[0].labels, scores)
    assert_resample_equals_scikit_learn(y, [model], MULTICLASS)
    sample = _Classification(y, [model], None, None)
    counts = sample.draw(np.random.default_rng(0), 500)
    assert (counts[2].sum(axis=1) == 2).all() and (counts[2] == 2).any()
    estimates = paired_bootstrap("classification", MULTICLASS, y, model, None, 0.95, 500, 0)
    assert all(e.interval is not None for e in estimates.values())


def test_a_class_predicted_but_absent_from_the_truth_counts_as_scikit_learn_counts_it():
    y, (model, _) = multiclass_case(300, seed=7, shares=[0.5, 0.3, 0.2])
    y = np.where(y == 2, 0, y)  # class 2 is gone from the truth; the model still predicts it
    assert (model.labels == 2).any()
    expected = compute_metrics(MULTICLASS, y, model)
    estimates = paired_bootstrap("classification", MULTICLASS, y, model, None, 0.95, 0, 0)
    for name in MULTICLASS:
        assert estimates[name].value == pytest.approx(expected[name], rel=1e-12), name
    # Averages over the truth's and the predictions' classes: class 2 scores 0 in f1_macro...
    per_class = f1_score(y, model.labels, average=None, labels=[0, 1, 2], zero_division=0)
    assert per_class[2] == 0
    assert estimates["f1_macro"].value == pytest.approx(per_class.mean(), rel=1e-12)
    # ...while balanced_accuracy and roc_auc_ovr take the classes in the truth alone.
    present = [roc_auc_score(y == k, model.scores[:, k]) for k in (0, 1)]
    assert estimates["roc_auc_ovr"].value == pytest.approx(np.mean(present), rel=1e-12)
    assert_resample_equals_scikit_learn(y, [model], MULTICLASS)


def test_a_champion_that_does_not_know_a_class_has_no_probability_metrics():
    """A class added since the champion was trained: its labels still compare (it never
    predicts the class), its probabilities cannot (it has none for the class)."""
    y, (candidate, champion) = multiclass_case(400, seed=8, shares=[0.5, 0.3, 0.2])
    scores = champion.scores.copy()
    scores[:, :2] /= scores[:, :2].sum(axis=1, keepdims=True)
    scores[:, 2] = np.nan
    champion = Predictions(scores[:, :2].argmax(axis=1), scores)
    estimates = paired_bootstrap("classification", MULTICLASS, y, candidate, champion, 0.95, 300, 0)
    for name in ("log_loss", "roc_auc_ovr"):
        assert estimates[name].champion is None and estimates[name].delta_interval is None
    expected = compute_metrics(["accuracy", "f1_macro"], y, champion)
    for name, value in expected.items():
        assert estimates[name].champion == pytest.approx(value, rel=1e-12)
        assert estimates[name].delta_interval is not None
    assert all(
        math.isnan(compute_metrics(["log_loss", "roc_auc_ovr"], y, champion)[m])
        for m in ("log_loss", "roc_auc_ovr")
    )


def test_a_regression_resample_equals_scikit_learn_on_the_drawn_rows():
    y, (candidate, _) = regression_case(300, seed=5)
    sample = _Regression(y, [candidate])
    counts = sample.draw(np.random.default_rng(6), 1)
    rows = np.repeat(np.arange(len(y)), counts[0].astype(int))
    [sums] = sample.sums(counts)
    drawn = Predictions(candidate.labels[rows], candidate.labels[rows])
    expected = compute_metrics(["rmse", "mae", "r2"], y[rows], drawn)
    for name, value in expected.items():
        assert METRICS[name].from_sums(Sums(**sums))[0] == pytest.approx(value), name


def test_every_metric_can_be_resampled_and_applies_to_some_shape():
    for metric in METRICS.values():
        assert callable(metric.from_sums) and metric.shapes, metric.name
    # accuracy and log_loss serve both kinds of classification; roc_auc only a positive class.
    assert {"accuracy", "log_loss"} <= set(BINARY) & set(MULTICLASS)
    assert "roc_auc" not in MULTICLASS and "roc_auc_ovr" in MULTICLASS


def test_same_seed_same_numbers_and_another_seed_other_numbers():
    y, (candidate, champion) = classification_case(2000, seed=7)
    run = lambda seed: paired_bootstrap(  # noqa: E731
        "classification", ["roc_auc", "f1"], y, candidate, champion, 0.95, 500, seed, 1
    )
    assert run(42) == run(42)
    assert run(42)["roc_auc"].delta_interval != run(43)["roc_auc"].delta_interval


@pytest.mark.parametrize("shape", ["binary", "multiclass"])
def test_intervals_hold_the_estimate_and_the_same_model_differs_by_nothing(shape):
    if shape == "binary":
        y, (candidate, _) = classification_case(1000, seed=8)
    else:
        y, (candidate, _) = multiclass_case(1000, seed=8, shares=[0.5, 0.3, 0.2])
    names, positive = (BINARY, 1) if shape == "binary" else (MULTICLASS, None)
    estimates = paired_bootstrap(
        "classification", names, y, candidate, candidate, 0.95, 300, 1, positive
    )
    for name, estimate in estimates.items():
        assert estimate.interval.low <= estimate.value <= estimate.interval.high, name
        assert estimate.delta == 0 and (
            estimate.delta_interval.low,
            estimate.delta_interval.high,
        ) == (0, 0)


def test_undefined_metric_has_no_value_and_no_interval():
    y = np.zeros(50, dtype=int)  # one class only: ROC AUC is undefined
    model = binary(np.linspace(0, 0.4, 50))
    estimate = paired_bootstrap(
        "classification", ["roc_auc", "accuracy"], y, model, None, 0.95, 200, 0, 1
    )
    assert estimate["roc_auc"].value is None and estimate["roc_auc"].interval is None
    assert estimate["accuracy"].value == 1.0


@pytest.mark.parametrize("by", ["rows", "groups", "blocks"])
def test_large_held_out_sets_are_resampled_in_blocks_with_the_same_result_on_any_thread_count(
    monkeypatch, by
):
    import mlops.bootstrap as bootstrap

    y, models = multiclass_case(5000, seed=9, shares=[0.5, 0.3, 0.2])
    resampling = {
        "rows": Resampling(),
        "groups": Resampling.of_groups(np.arange(5000) % 97),
        "blocks": Resampling.of_times(np.arange(5000) // 7),
    }[by]
    monkeypatch.setattr(bootstrap, "BLOCK_CELLS", 5000 * 7)  # several blocks

    def run() -> dict:
        return paired_bootstrap(
            "classification", MULTICLASS, y, *models, 0.9, 50, 3, resampling=resampling
        )

    threaded = run()
    monkeypatch.setattr(bootstrap, "WORKERS", 1)
    assert run() == threaded


# ---------------------------------------------------------------- groups and blocks


def grouped_case(seed: int, groups: int = 30):
    """Held-out rows in no order: three classes (the last one rare, in two groups only),
    groups named by text of one to forty rows each, and times with many rows on one day;
    two models whose probabilities (rounded: ties) favour the true class."""
    rng = np.random.default_rng(seed)
    names = np.array([f"customer {n}" for n in rng.permutation(groups)])
    group = pd.Series(np.repeat(names, rng.integers(1, 41, groups)))
    rows = len(group)
    y = rng.choice(2, rows, p=[0.7, 0.3])
    y[group.isin(names[:2]).to_numpy() & (rng.random(rows) < 0.5)] = 2
    models = []
    for shift in (1.5, 1.0):
        logits = rng.normal(size=(rows, 3))
        logits[np.arange(rows), y] += shift
        probabilities = np.round(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), 2)
        models.append(Predictions(probabilities.argmax(axis=1), probabilities))
    days = pd.date_range("2024-01-01", periods=150, freq="D", tz="UTC")
    times = pd.Series(days[rng.integers(0, len(days), rows)])
    return y, models, group, times


def binary_of(y: np.ndarray, model: Predictions) -> Predictions:
    """The rare class as the positive one, against the rest."""
    scores = np.column_stack([1 - model.scores[:, 2], model.scores[:, 2]])
    return Predictions((model.labels == 2).astype(int), scores)


def rows_counts(sample: _Classification, counts: list[np.ndarray]) -> np.ndarray:
    """(resamples, rows): each held-out row's count, in the rows' order."""
    per_row = np.empty((len(counts[0]), sample.rows))
    for rows, c in zip(sample.strata, counts, strict=True):
        per_row[:, rows] = c
    return per_row


def test_every_row_of_a_group_counts_as_often_as_its_group_was_drawn():
    y, models, group, _ = grouped_case(seed=10)
    resampling = Resampling.of_groups(group)
    assert resampling.units == group.nunique() == 30
    sample = _Classification(y, models, None, "every", resampling)
    per_row = rows_counts(sample, sample.draw(np.random.default_rng(1), 200))
    by_group = pd.DataFrame(per_row.T).groupby(group.to_numpy())
    assert (by_group.nunique() == 1).all().all()  # one count for all rows of a group
    drawn = by_group.first()  # groups × resamples
    assert (drawn.sum() == 30).all()  # 30 groups drawn with replacement, per resample
    sizes = group.value_counts().reindex(drawn.index)
    assert np.array_equal(per_row.sum(axis=1), drawn.mul(sizes, axis=0).sum().to_numpy())
    # Not stratified: the rare class's count varies, to none at all in some resamples.
    rare = per_row[:, y == 2].sum(axis=1)
    assert rare.min() == 0 and rare.max() > (y == 2).sum()


def test_a_block_resample_strings_together_runs_of_consecutive_times():
    drawn = _circular_blocks(np.random.default_rng(2), 500, units=37, length=4)
    assert drawn.shape == (500, 37)
    inside = [i for i in range(1, 37) if i % 4]  # every position but a block's first
    assert (drawn[:, inside] == (drawn[:, [i - 1 for i in inside]] + 1) % 37).all()
    previous = [i - 1 for i in inside]
    assert ((drawn[:, inside] == 0) & (drawn[:, previous] == 36)).any()  # past the last time...
    # ...to the first (circular), so every time is drawn as often on average.
    assert np.allclose(np.bincount(drawn.ravel(), minlength=37) / 500, 1, atol=0.3)


def test_rows_of_one_time_are_drawn_together_and_times_in_their_order():
    y, models, _, times = grouped_case(seed=11)
    resampling = Resampling.of_times(times)
    assert resampling.units == times.nunique() > 140 and resampling.block == 5  # 150^(1/3) ≈ 5.3
    assert resampling.draws == math.ceil(resampling.units / 5)
    # Each row's unit is its time's rank among the distinct times (rows in no order).
    assert np.array_equal(resampling.unit, times.rank(method="dense").to_numpy() - 1)
    for sample in (
        _Classification(y, models, None, None, resampling),
        _Regression(y.astype(float), [Predictions(y * 1.0, y * 1.0)], resampling),
    ):
        counts = sample.draw(np.random.default_rng(3), 100)
        per_row = counts if isinstance(counts, np.ndarray) else rows_counts(sample, counts)
        by_time = pd.DataFrame(per_row.T).groupby(times.to_numpy())
        assert (by_time.nunique() == 1).all().all()
        assert (by_time.first().sum() == resampling.units).all()


@pytest.mark.parametrize("by", ["groups", "blocks"])
def test_resamples_of_groups_and_blocks_equal_scikit_learn_on_the_drawn_rows(by):
    """Class counts vary between resamples (a resample may lack the rare class): the sums
    still give what scikit-learn gives on the rows repeated as often as they were drawn."""
    y, models, group, times = grouped_case(seed=12)
    resampling = Resampling.of_groups(group) if by == "groups" else Resampling.of_times(times)
    sample = _Classification(y, models, None, None, resampling)
    rare = rows_counts(sample, sample.draw(np.random.default_rng(4), 8))[:, y == 2].sum(axis=1)
    assert len(set(rare)) > 1 and (by == "blocks" or 0 in rare)  # one without it, grouped
    assert_resample_equals_scikit_learn(y, models, MULTICLASS, None, resampling, resamples=8)
    binary_models = [binary_of(y, model) for model in models]
    assert_resample_equals_scikit_learn(
        (y == 2).astype(int), binary_models, BINARY, 1, resampling, resamples=8
    )
    truth = y.astype(float) + np.random.default_rng(0).normal(size=len(y))
    candidate = Predictions(y * 1.0, y * 1.0)
    sample = _Regression(truth, [candidate], resampling)
    counts = sample.draw(np.random.default_rng(6), 5)
    [sums] = sample.sums(counts)
    for r in range(5):
        rows = np.repeat(np.arange(len(y)), counts[r].astype(int))
        drawn = Predictions(candidate.labels[rows], candidate.labels[rows])
        expected = compute_metrics(["rmse", "mae", "r2"], truth[rows], drawn)
        for name, value in expected.items():
            assert METRICS[name].from_sums(Sums(**sums))[r] == pytest.approx(value), name


@pytest.mark.parametrize("by", ["groups", "blocks"])
def test_groups_and_blocks_are_seeded_and_paired(by):
    y, models, group, times = grouped_case(seed=13, groups=60)
    resampling = Resampling.of_groups(group) if by == "groups" else Resampling.of_times(times)

    def run(seed: int, champion: Predictions) -> dict:
        return paired_bootstrap(
            "classification",
            MULTICLASS,
            y,
            models[0],
            champion,
            0.95,
            300,
            seed,
            resampling=resampling,
        )

    assert run(42, models[1]) == run(42, models[1])
    assert (
        run(42, models[1])["accuracy"].delta_interval
        != run(43, models[1])["accuracy"].delta_interval
    )
    # The same draw for both models: a model against itself differs by exactly nothing.
    for estimate in run(42, models[0]).values():
        assert (estimate.delta_interval.low, estimate.delta_interval.high) == (0, 0)
    # The values are the rows' own, whatever is resampled.
    assert {n: e.value for n, e in run(42, models[1]).items()} == {
        n: e.value
        for n, e in paired_bootstrap("classification", MULTICLASS, y, *models, 0.95, 0, 0).items()
    }


def test_too_few_groups_or_blocks_give_the_values_without_intervals():
    y, (candidate, champion) = classification_case(600, seed=14)
    rows = np.arange(600)
    few, enough = (Resampling.of_groups(rows % n) for n in (MIN_UNITS - 1, MIN_UNITS))
    short = Resampling.of_times(rows // 10)  # 60 times: 15 blocks of 4
    assert few.too_few and short.too_few and not enough.too_few
    assert (short.block, short.draws) == (4, 15)
    assert not Resampling.of_times(rows % MIN_TIMES).too_few
    plain = paired_bootstrap("classification", BINARY, y, candidate, champion, 0.95, 0, 0, 1)
    for resampling in (few, short):
        estimates = paired_bootstrap(
            "classification",
            BINARY,
            y,
            candidate,
            champion,
            0.95,
            1000,
            0,
            1,
            resampling=resampling,
        )
        assert estimates == plain  # the values, and no interval
    estimates = paired_bootstrap(
        "classification", BINARY, y, candidate, champion, 0.95, 300, 0, 1, resampling=enough
    )
    assert all(e.interval and e.delta_interval for e in estimates.values())


def test_a_block_is_about_the_cube_root_of_the_held_out_times():
    # From the fewest times that get intervals on, there are always enough blocks.
    assert all(
        math.ceil(times / block_length(times)) >= MIN_UNITS for times in range(MIN_TIMES, 100_000)
    )
    assert [block_length(n) for n in (1, 7, 8, 26, 27, 100, 146, 1000, 100_000)] == [
        1,
        2,
        2,
        3,
        3,
        5,
        5,
        10,
        46,
    ]


@pytest.mark.slow
def test_classification_intervals_cover_the_true_difference_near_nominally():
    """Binormal scores: positives N(d, 1), negatives N(0, 1), so the true ROC AUC is
    Φ(d/√2); a threshold t gives a known accuracy. Candidate and champion share correlated
    noise, as two models of the same rows do. 95% intervals must cover 92–98% of the time."""
    rng = np.random.default_rng(2026)
    rows, share, shifts, correlation, cut = 900, 0.3, (1.2, 1.0), 0.6, 0.6

    def accuracy(shift: float) -> float:
        return share * norm.sf(cut - shift) + (1 - share) * norm.cdf(cut)

    truth = {
        "roc_auc": norm.cdf(shifts[0] / np.sqrt(2)) - norm.cdf(shifts[1] / np.sqrt(2)),
        "accuracy": accuracy(shifts[0]) - accuracy(shifts[1]),
    }
    simulations, covered, covered_value = 300, {"roc_auc": 0, "accuracy": 0}, 0
    for trial in range(simulations):
        y = (rng.random(rows) < share).astype(int)
        noise = rng.normal(size=rows)
        other = correlation * noise + np.sqrt(1 - correlation**2) * rng.normal(size=rows)
        # Scores on the real line: ranks and the cut are all the metrics need of them.
        candidate, champion = (
            Predictions((s > cut).astype(int), np.column_stack([-s, s]))
            for s in (shifts[0] * y + noise, shifts[1] * y + other)
        )
        estimates = paired_bootstrap(
            "classification", list(truth), y, candidate, champion, 0.95, 1000, trial, 1
        )
        for name, true_delta in truth.items():
            interval = estimates[name].delta_interval
            covered[name] += interval.low <= true_delta <= interval.high
        interval = estimates["roc_auc"].interval
        covered_value += interval.low <= norm.cdf(shifts[0] / np.sqrt(2)) <= interval.high
    for name, hits in covered.items():
        assert 0.92 <= hits / simulations <= 0.98, (name, hits / simulations)
    assert 0.92 <= covered_value / simulations <= 0.98, covered_value / simulations


@pytest.mark.slow
def test_regression_intervals_cover_the_true_difference_near_nominally():
    """Errors N(0, σ²) give a true RMSE of σ; the two models' errors are correlated."""
    rng = np.random.default_rng(11)
    rows, sigmas, correlation = 900, (1.0, 1.15), 0.5
    simulations, covered = 300, 0
    for trial in range(simulations):
        y = rng.normal(10, 3, rows)
        noise = rng.normal(size=rows)
        other = correlation * noise + np.sqrt(1 - correlation**2) * rng.normal(size=rows)
        candidate, champion = (
            Predictions(y + e, y + e) for e in (sigmas[0] * noise, sigmas[1] * other)
        )
        interval = paired_bootstrap(
            "regression", ["rmse"], y, candidate, champion, 0.95, 1000, trial
        )["rmse"].delta_interval
        covered += interval.low <= sigmas[0] - sigmas[1] <= interval.high
    assert 0.92 <= covered / simulations <= 0.98, covered / simulations


def autoregressive(rng: np.random.Generator, length: int, persistence: float) -> np.ndarray:
    """A stationary AR(1) series of unit variance: each value `persistence` of the last."""
    series = np.empty(length)
    series[0] = rng.normal()
    for t in range(1, length):
        series[t] = persistence * series[t - 1] + np.sqrt(1 - persistence**2) * rng.normal()
    return series


def coverage(
    resamplings: dict[str, Resampling],
    simulations: int,
    held_out_set: Callable[[], tuple],
    task: str,
    metric: str,
    true_delta: float,
    positive: int | None = None,
) -> dict[str, float]:
    """For each way of resampling, the share of `simulations` held-out sets (truth, candidate,
    champion from `held_out_set()`) whose 95% interval of the difference holds `true_delta`."""
    covered = dict.fromkeys(resamplings, 0)
    with threadpool_limits(1):  # small products: BLAS threads would only contend
        for trial in range(simulations):
            y, candidate, champion = held_out_set()
            for by, resampling in resamplings.items():
                interval = paired_bootstrap(
                    task, [metric], y, candidate, champion, 0.95, 1000, trial, positive, resampling
                )[metric].delta_interval
                covered[by] += interval.low <= true_delta <= interval.high
    return {by: hits / simulations for by, hits in covered.items()}


@pytest.mark.slow
def test_whole_groups_cover_a_true_difference_that_rows_resampled_one_by_one_miss():
    """Each group shifts each model's scores by its own amount (a customer one model reads
    better than the other), so the rows of a group are correlated. The true accuracy of a
    model over all groups is known (binormal scores, the shift's variance added). 95%
    intervals from rows resampled as if independent miss it far too often; from whole
    groups they cover it near nominally."""
    rng = np.random.default_rng(7)
    groups, size, share, shifts, cut, spread = 45, 20, 0.3, (1.2, 1.0), 0.6, 1.0
    scale = np.sqrt(1 + spread**2)

    def accuracy(shift: float) -> float:
        return share * norm.sf((cut - shift) / scale) + (1 - share) * norm.cdf(cut / scale)

    group = np.repeat(np.arange(groups), size)

    def held_out_set() -> tuple:
        y = (rng.random(len(group)) < share).astype(int)
        offsets = rng.normal(0, spread, (2, groups))[:, group]
        noise = rng.normal(size=len(y))
        other = 0.6 * noise + 0.8 * rng.normal(size=len(y))
        scores = (shifts[0] * y + offsets[0] + noise, shifts[1] * y + offsets[1] + other)
        return y, *(Predictions((s > cut).astype(int), np.column_stack([-s, s])) for s in scores)

    found = coverage(
        {"rows": Resampling(), "groups": Resampling.of_groups(group)},
        400,
        held_out_set,
        "classification",
        "accuracy",
        accuracy(shifts[0]) - accuracy(shifts[1]),
        positive=1,
    )
    # About 0.79 and 0.93 over many more simulations: 45 groups are still few enough for
    # the percentile interval to come out a little narrow.
    assert found["rows"] < 0.85 and 0.89 <= found["groups"] <= 0.98, found


@pytest.mark.slow
def test_blocks_of_days_cover_a_true_difference_that_rows_resampled_one_by_one_miss():
    """Errors with a day component that persists from one day to the next (AR(1)) and is
    shared by the day's rows; the true RMSE of each model is known. Rows resampled as if
    independent give intervals far too narrow; circular blocks of days cover near
    nominally."""
    rng = np.random.default_rng(2028)
    days, per_day, persistence, shared, sigmas = 300, 4, 0.5, 0.8, (1.0, 1.15)
    day = np.repeat(np.arange(days), per_day)

    def held_out_set() -> tuple:
        y = rng.normal(10, 3, len(day))
        predictions = [
            y
            + sigma
            * (
                np.sqrt(shared) * autoregressive(rng, days, persistence)[day]
                + np.sqrt(1 - shared) * rng.normal(size=len(day))
            )
            for sigma in sigmas
        ]
        return y, *(Predictions(p, p) for p in predictions)

    found = coverage(
        {"rows": Resampling(), "blocks": Resampling.of_times(day)},
        250,
        held_out_set,
        "regression",
        "rmse",
        sigmas[0] - sigmas[1],
    )
    # About 0.63 and 0.93 over many more simulations.
    assert found["rows"] < 0.8 and 0.88 <= found["blocks"] <= 0.98, found

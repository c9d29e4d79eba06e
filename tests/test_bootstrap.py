"""The paired bootstrap: the same numbers as scikit-learn, reproducible, and intervals whose
coverage is near nominal on simulated held-out sets with a known true difference."""

import math

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import f1_score, roc_auc_score

from mlops.bootstrap import _Classification, _Regression, paired_bootstrap
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


def assert_resample_equals_scikit_learn(y, models, names, positive=None):
    """Counts in, sums out: the same as scikit-learn on the rows repeated that many times."""
    ranks = "every" if "roc_auc_ovr" in names else "positive" if "roc_auc" in names else None
    sample = _Classification(y, models, positive, ranks)
    counts = sample.draw(np.random.default_rng(4), 1)
    rows = np.concatenate(
        [np.repeat(rows, c[0].astype(int)) for rows, c in zip(sample.strata, counts, strict=True)]
    )
    assert len(rows) == len(y)
    assert (
        np.bincount(y[rows], minlength=len(counts)) == np.bincount(y, minlength=len(counts))
    ).all()
    for model, sums in zip(models, sample.sums(counts), strict=True):
        drawn = Predictions(model.labels[rows], model.scores[rows])
        expected = compute_metrics(names, y[rows], drawn, positive)
        total = Sums(**sample.fixed, **sums)
        for name in names:
            assert METRICS[name].from_sums(total)[0] == pytest.approx(
                expected[name], rel=1e-6, nan_ok=True
            ), name


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
        assert METRICS[name].from_sums(Sums(rows=len(y), **sums))[0] == pytest.approx(value), name


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


def test_large_held_out_sets_are_resampled_in_blocks_with_the_same_result_on_any_thread_count(
    monkeypatch,
):
    import mlops.bootstrap as bootstrap

    y, models = multiclass_case(5000, seed=9, shares=[0.5, 0.3, 0.2])
    monkeypatch.setattr(bootstrap, "BLOCK_CELLS", 5000 * 7)  # several blocks

    def run() -> dict:
        return paired_bootstrap("classification", MULTICLASS, y, *models, 0.9, 50, 3)

    threaded = run()
    monkeypatch.setattr(bootstrap, "WORKERS", 1)
    assert run() == threaded


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

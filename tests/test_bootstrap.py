"""The paired bootstrap: the same numbers as scikit-learn, reproducible, and intervals whose
coverage is near nominal on simulated held-out sets with a known true difference."""

import numpy as np
import pytest
from scipy.stats import norm

from mlops.bootstrap import Predictions, _Classification, _Regression, paired_bootstrap
from mlops.metrics import METRICS, Sums, compute_metrics, metrics_for


def classification_case(rows: int, seed: int, ties: bool = False, share: float = 0.3):
    rng = np.random.default_rng(seed)
    y = rng.random(rows) < share
    scores = [1 / (1 + np.exp(-(y * shift + rng.normal(size=rows)))) for shift in (1.2, 0.9)]
    if ties:  # tree ensembles give many equal scores
        scores = [np.round(s, 2) for s in scores]
    return y, [Predictions(s > 0.5, s) for s in scores]


def regression_case(rows: int, seed: int):
    rng = np.random.default_rng(seed)
    y = rng.normal(10, 3, rows)
    predictions = [y + rng.normal(0, sd, rows) for sd in (1.0, 1.2)]
    return y, [Predictions(p, p) for p in predictions]


def scikit_learn(task: str, y: np.ndarray, model: Predictions) -> dict[str, float]:
    return compute_metrics(metrics_for(task), y, model.labels, model.scores)


@pytest.mark.parametrize("share", [0.3, 0.7])  # the minority class is ranked, either one
@pytest.mark.parametrize("ties", [False, True])
def test_values_equal_scikit_learns(ties, share):
    y, (candidate, champion) = classification_case(500, seed=1, ties=ties, share=share)
    estimates = paired_bootstrap(
        "classification", metrics_for("classification"), y, candidate, champion, 0.95, 0, 0
    )
    expected, expected_champion = (
        scikit_learn("classification", y, m) for m in (candidate, champion)
    )
    for name, estimate in estimates.items():
        assert estimate.value == pytest.approx(expected[name], rel=1e-12), name
        assert estimate.champion == pytest.approx(expected_champion[name], rel=1e-12), name
        assert estimate.interval is None and estimate.delta_interval is None


def test_regression_values_equal_scikit_learns():
    y, (candidate, champion) = regression_case(400, seed=2)
    estimates = paired_bootstrap(
        "regression", ["rmse", "mae", "r2"], y, candidate, champion, 0.9, 0, 0
    )
    expected = scikit_learn("regression", y, candidate)
    for name, estimate in estimates.items():
        assert estimate.value == pytest.approx(expected[name], rel=1e-10), name


@pytest.mark.parametrize("share", [0.3, 0.7])
@pytest.mark.parametrize("ties", [False, True])
def test_a_resample_equals_scikit_learn_on_the_drawn_rows(ties, share):
    """Counts in, sums out: the same as scikit-learn on the rows repeated that many times."""
    y, (candidate, champion) = classification_case(300, seed=3, ties=ties, share=share)
    sample = _Classification(y, [candidate, champion])
    rng = np.random.default_rng(4)
    pos_counts, neg_counts = sample.draw(rng, 1)
    rows = np.concatenate(
        [
            np.repeat(sample.positive_rows, pos_counts[0].astype(int)),
            np.repeat(sample.negative_rows, neg_counts[0].astype(int)),
        ]
    )
    assert len(rows) == len(y) and y[rows].sum() == y.sum()  # stratified: class counts kept
    for model, sums in zip(
        (candidate, champion), sample.sums((pos_counts, neg_counts)), strict=True
    ):
        expected = compute_metrics(
            metrics_for("classification"), y[rows], model.labels[rows], model.scores[rows]
        )
        total = Sums(positives=int(y.sum()), negatives=int((~y).sum()), **sums)
        for name in expected:
            assert METRICS[name].from_sums(total)[0] == pytest.approx(expected[name], rel=1e-6), (
                name
            )


def test_a_regression_resample_equals_scikit_learn_on_the_drawn_rows():
    y, (candidate, _) = regression_case(300, seed=5)
    sample = _Regression(y, [candidate])
    counts = sample.draw(np.random.default_rng(6), 1)
    rows = np.repeat(np.arange(len(y)), counts[0].astype(int))
    [sums] = sample.sums(counts)
    expected = compute_metrics(["rmse", "mae", "r2"], y[rows], candidate.labels[rows], None)
    for name, value in expected.items():
        assert METRICS[name].from_sums(Sums(rows=len(y), **sums))[0] == pytest.approx(value), name


def test_every_metric_can_be_resampled():
    assert all(callable(metric.from_sums) for metric in METRICS.values())


def test_same_seed_same_numbers_and_another_seed_other_numbers():
    y, (candidate, champion) = classification_case(2000, seed=7)
    run = lambda seed: paired_bootstrap(  # noqa: E731
        "classification", ["roc_auc", "f1"], y, candidate, champion, 0.95, 500, seed
    )
    assert run(42) == run(42)
    assert run(42)["roc_auc"].delta_interval != run(43)["roc_auc"].delta_interval


def test_intervals_hold_the_estimate_and_the_same_model_differs_by_nothing():
    y, (candidate, _) = classification_case(1000, seed=8)
    estimates = paired_bootstrap(
        "classification", metrics_for("classification"), y, candidate, candidate, 0.95, 300, 1
    )
    for name, estimate in estimates.items():
        assert estimate.interval.low <= estimate.value <= estimate.interval.high, name
        assert estimate.delta == 0 and (
            estimate.delta_interval.low,
            estimate.delta_interval.high,
        ) == (0, 0)


def test_undefined_metric_has_no_value_and_no_interval():
    y = np.zeros(50, dtype=bool)  # one class only: ROC AUC is undefined
    model = Predictions(np.zeros(50, dtype=bool), np.linspace(0, 1, 50))
    estimate = paired_bootstrap(
        "classification", ["roc_auc", "accuracy"], y, model, None, 0.95, 200, 0
    )
    assert estimate["roc_auc"].value is None and estimate["roc_auc"].interval is None
    assert estimate["accuracy"].value == 1.0


def test_large_held_out_sets_are_resampled_in_blocks_with_the_same_result_on_any_thread_count(
    monkeypatch,
):
    import mlops.bootstrap as bootstrap

    y, (candidate, champion) = classification_case(5000, seed=9)
    monkeypatch.setattr(bootstrap, "BLOCK_CELLS", 5000 * 7)  # several blocks

    def run() -> dict:
        return paired_bootstrap("classification", ["roc_auc"], y, candidate, champion, 0.9, 50, 3)

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
        y = rng.random(rows) < share
        noise = rng.normal(size=rows)
        other = correlation * noise + np.sqrt(1 - correlation**2) * rng.normal(size=rows)
        candidate, champion = (
            Predictions(s > cut, s) for s in (shifts[0] * y + noise, shifts[1] * y + other)
        )
        estimates = paired_bootstrap(
            "classification", list(truth), y, candidate, champion, 0.95, 1000, trial
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

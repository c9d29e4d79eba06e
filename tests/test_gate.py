"""The gate's decision table: thresholds, missing and NaN metrics, champion comparisons."""

import math

import pytest

from mlops.gate import decide

THRESHOLDS = {"roc_auc": 0.80, "log_loss": 0.50}
TOLERANCES = {"roc_auc": 0.01, "log_loss": 0.02}


def reasons_of(decision) -> str:
    return " | ".join(decision.reasons)


@pytest.mark.parametrize(
    ("metrics", "passed"),
    [
        ({"roc_auc": 0.80, "log_loss": 0.50}, True),  # exactly at both thresholds
        ({"roc_auc": 0.7999, "log_loss": 0.40}, False),  # just below a minimum
        ({"roc_auc": 0.90, "log_loss": 0.5001}, False),  # just above a maximum (lower is better)
        ({"roc_auc": 0.95, "log_loss": 0.10}, True),
    ],
)
def test_thresholds_without_champion(metrics, passed):
    decision = decide(metrics, THRESHOLDS, TOLERANCES, champion_metrics=None)
    assert decision.passed is passed
    if passed:
        assert "no champion yet" in reasons_of(decision)


def test_failing_reason_names_metric_value_and_threshold():
    decision = decide({"roc_auc": 0.75, "log_loss": 0.3}, THRESHOLDS, {}, None)
    assert not decision.passed
    assert decision.reasons == ["roc_auc is 0.7500, minimum allowed is 0.8000"]
    failed = [c for c in decision.checks if not c.passed]
    assert [c.metric for c in failed] == ["roc_auc"]


def test_missing_metric_never_passes():
    decision = decide({"log_loss": 0.3}, THRESHOLDS, {}, None)
    assert not decision.passed
    assert "roc_auc could not be computed" in reasons_of(decision)


def test_nan_metric_never_passes():
    decision = decide({"roc_auc": math.nan, "log_loss": 0.3}, THRESHOLDS, {}, None)
    assert not decision.passed
    assert "roc_auc could not be computed (nan)" in reasons_of(decision)


def test_champion_better_beyond_tolerance_blocks():
    champion = {"roc_auc": 0.90, "log_loss": 0.30}
    decision = decide({"roc_auc": 0.85, "log_loss": 0.30}, THRESHOLDS, TOLERANCES, champion)
    assert not decision.passed
    assert "worse than the champion's 0.9000 by more than the tolerance of 0.0100" in reasons_of(
        decision
    )


def test_champion_better_within_tolerance_passes():
    champion = {"roc_auc": 0.90, "log_loss": 0.30}
    decision = decide({"roc_auc": 0.89, "log_loss": 0.32}, THRESHOLDS, TOLERANCES, champion)
    assert decision.passed, decision.reasons
    check = next(c for c in decision.checks if c.metric == "roc_auc")
    assert check.delta == pytest.approx(-0.01)


def test_lower_is_better_metric_compared_the_right_way():
    champion = {"roc_auc": 0.85, "log_loss": 0.30}
    worse = decide({"roc_auc": 0.85, "log_loss": 0.33}, THRESHOLDS, TOLERANCES, champion)
    assert not worse.passed
    assert "log_loss is 0.3300, worse than the champion's 0.3000" in reasons_of(worse)


def test_champion_worse_passes():
    champion = {"roc_auc": 0.81, "log_loss": 0.45}
    decision = decide({"roc_auc": 0.86, "log_loss": 0.35}, THRESHOLDS, TOLERANCES, champion)
    assert decision.passed
    assert "no worse than the champion" in reasons_of(decision)


def test_champion_comparison_only_for_configured_metrics():
    # precision has no tolerance: a champion with better precision does not block.
    champion = {"roc_auc": 0.85, "log_loss": 0.3, "precision": 0.99}
    metrics = {"roc_auc": 0.85, "log_loss": 0.3, "precision": 0.10}
    assert decide(metrics, THRESHOLDS, TOLERANCES, champion).passed


def test_threshold_and_champion_failures_are_both_reported():
    champion = {"roc_auc": 0.95, "log_loss": 0.1}
    decision = decide({"roc_auc": 0.70, "log_loss": 0.1}, THRESHOLDS, TOLERANCES, champion)
    assert len([r for r in decision.reasons if r.startswith("roc_auc")]) == 2

"""The gate's decision table: thresholds, missing and NaN metrics, the three champion rules,
thresholds on the interval, and what counts as loosening the gate."""

import math
from dataclasses import replace

import pytest

from mlops.bootstrap import Estimate, Interval
from mlops.gate import (
    BETTER,
    NO_DIFFERENCE,
    WORSE,
    WORSE_BEYOND_TOLERANCE,
    GateSettings,
    decide,
    loosened,
    verdict,
)

THRESHOLDS = {"roc_auc": 0.80, "log_loss": 0.50}
TOLERANCES = {"roc_auc": 0.01, "log_loss": 0.02}
POINT = GateSettings("point", "value", 0.95, THRESHOLDS, TOLERANCES)
NON_INFERIORITY = replace(POINT, rule="non_inferiority")
SUPERIORITY = replace(POINT, rule="superiority")


def alone(value: float | None, low: float | None = None, high: float | None = None) -> Estimate:
    """A candidate's estimate without a champion."""
    interval = None if low is None else Interval(low, high)
    return Estimate(value=value, interval=interval)


def paired(value: float, champion: float, delta_low: float, delta_high: float) -> Estimate:
    """A candidate's estimate against the champion, with the interval of the difference."""
    return Estimate(
        value=value,
        interval=Interval(value - 0.02, value + 0.02),
        champion=champion,
        delta=value - champion,
        delta_interval=Interval(delta_low, delta_high),
    )


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
    estimates = {name: alone(value) for name, value in metrics.items()}
    decision = decide(estimates, NON_INFERIORITY, has_champion=False)
    assert decision.passed is passed
    if passed:
        assert "no champion yet" in decision.summary
        assert all(check.verdict is None for check in decision.checks)


def test_failing_reason_names_metric_value_threshold_and_the_check():
    estimates = {"roc_auc": alone(0.75), "log_loss": alone(0.3)}
    decision = decide(estimates, POINT, has_champion=False)
    assert not decision.passed
    assert decision.reasons == ["roc_auc is 0.7500, minimum allowed is 0.8000"]
    assert decision.summary == "No deploy: roc_auc is 0.7500, minimum allowed is 0.8000."
    [failed] = [c for c in decision.checks if not c.passed]
    assert (failed.metric, failed.failed) == ("roc_auc", ["threshold"])


@pytest.mark.parametrize("value", [None, math.nan])
def test_missing_or_nan_metric_never_passes(value):
    estimates = {"roc_auc": alone(value), "log_loss": alone(0.3)}
    decision = decide(estimates, NON_INFERIORITY, has_champion=False)
    assert not decision.passed
    assert "roc_auc could not be computed" in reasons_of(decision)
    assert not decide({"log_loss": alone(0.3)}, POINT, has_champion=False).passed


def test_point_rule_is_todays_behaviour():
    worse = {"roc_auc": paired(0.85, 0.90, -0.08, -0.02), "log_loss": paired(0.3, 0.3, 0, 0)}
    decision = decide(worse, POINT, has_champion=True)
    assert not decision.passed
    assert "worse than the champion's 0.9000 by more than the tolerance of 0.0100" in reasons_of(
        decision
    )
    within = {"roc_auc": paired(0.89, 0.90, -0.03, 0.01), "log_loss": paired(0.32, 0.30, 0, 0.04)}
    assert decide(within, POINT, has_champion=True).passed


def test_point_estimate_improves_but_interval_says_noise():
    # +0.01 over the champion looks like a gain, but the interval (−0.01 to +0.03) holds zero.
    estimates = {"roc_auc": paired(0.91, 0.90, -0.01, 0.03), "log_loss": paired(0.3, 0.3, 0, 0)}
    assert decide(estimates, POINT, has_champion=True).passed
    superiority = decide(estimates, SUPERIORITY, has_champion=True)
    assert not superiority.passed
    assert "roc_auc shows no improvement over the champion's 0.9000" in superiority.summary
    [check] = [c for c in superiority.checks if c.metric == "roc_auc"]
    assert check.verdict == NO_DIFFERENCE


def test_point_estimate_blocks_but_interval_says_noise():
    # 0.015 below the champion is beyond the 0.01 tolerance by the point estimate, but on a
    # small held-out set the interval (−0.045 to +0.012) cannot tell it from no difference.
    estimates = {"roc_auc": paired(0.885, 0.90, -0.045, 0.012), "log_loss": paired(0.3, 0.3, 0, 0)}
    point = decide(estimates, POINT, has_champion=True)
    assert not point.passed
    non_inferiority = decide(estimates, NON_INFERIORITY, has_champion=True)
    assert non_inferiority.passed, non_inferiority.reasons
    assert "95% interval shows the candidate worse" in non_inferiority.summary
    [check] = [c for c in non_inferiority.checks if c.metric == "roc_auc"]
    assert check.verdict == NO_DIFFERENCE and check.passed


def test_non_inferiority_blocks_when_the_whole_interval_is_beyond_tolerance():
    estimates = {"roc_auc": paired(0.86, 0.90, -0.06, -0.02), "log_loss": paired(0.3, 0.3, 0, 0)}
    decision = decide(estimates, NON_INFERIORITY, has_champion=True)
    assert not decision.passed
    assert decision.reasons == [
        "roc_auc is 0.8600, worse than the champion's 0.9000 beyond the tolerance of 0.0100 "
        "(95% interval -0.0600 to -0.0200)"
    ]
    [check] = [c for c in decision.checks if c.metric == "roc_auc"]
    assert (check.verdict, check.failed) == (WORSE_BEYOND_TOLERANCE, ["champion"])


def test_lower_is_better_metric_is_turned_the_right_way():
    # log_loss rose by 0.03 to 0.05: worse beyond the 0.02 tolerance.
    worse = {"roc_auc": paired(0.9, 0.9, 0, 0), "log_loss": paired(0.34, 0.30, 0.03, 0.05)}
    decision = decide(worse, NON_INFERIORITY, has_champion=True)
    assert not decision.passed
    assert "log_loss is 0.3400, worse than the champion's 0.3000" in reasons_of(decision)
    # log_loss fell by 0.01 to 0.03: better, and superiority accepts it.
    better = {
        "roc_auc": paired(0.91, 0.9, 0.001, 0.02),
        "log_loss": paired(0.28, 0.30, -0.03, -0.01),
    }
    assert decide(better, SUPERIORITY, has_champion=True).passed
    assert [c.verdict for c in decide(better, SUPERIORITY, True).checks] == [BETTER, BETTER]


def test_superiority_needs_every_compared_metric_to_improve():
    estimates = {
        "roc_auc": paired(0.92, 0.9, 0.005, 0.03),
        "log_loss": paired(0.3, 0.3, -0.01, 0.01),
    }
    decision = decide(estimates, SUPERIORITY, has_champion=True)
    assert not decision.passed
    assert "log_loss shows no improvement over the champion's 0.3000" in reasons_of(decision)


def test_interval_rules_fail_closed_without_an_interval():
    estimate = Estimate(value=0.9, interval=None, champion=0.9, delta=0.0, delta_interval=None)
    estimates = {"roc_auc": estimate, "log_loss": paired(0.3, 0.3, 0, 0)}
    assert decide(estimates, POINT, has_champion=True).passed
    for settings in (NON_INFERIORITY, SUPERIORITY, replace(POINT, threshold_on="lower_bound")):
        decision = decide(estimates, settings, has_champion=True)
        assert not decision.passed and "could not be estimated" in reasons_of(decision)


def test_too_few_groups_fail_the_rules_that_need_intervals_and_say_why():
    """No interval at all (too few held-out groups or blocks): the rules and threshold_on
    that need one fail every metric they judge, with the reason; point estimates still
    decide under `point` with `threshold_on: value`."""
    why = "the held-out rows hold 4 group(s) of split.group_column, and a bootstrap of ..."
    bare = {
        name: Estimate(value=value, interval=None, champion=value, delta=0.0, delta_interval=None)
        for name, value in (("roc_auc", 0.9), ("log_loss", 0.3))
    }
    assert decide(bare, POINT, has_champion=True, no_intervals=why).passed
    decision = decide(bare, NON_INFERIORITY, has_champion=True, no_intervals=why)
    assert not decision.passed and decision.reasons == [
        f"{name}: no interval of the difference, which non_inferiority needs: {why}"
        for name in ("roc_auc", "log_loss")
    ]
    first = decide(bare, replace(POINT, threshold_on="lower_bound"), False, no_intervals=why)
    assert first.reasons[0] == f"roc_auc: no interval, which threshold_on lower_bound needs: {why}"
    # A first model under non_inferiority is judged on its thresholds' values alone.
    assert decide(bare, NON_INFERIORITY, has_champion=False, no_intervals=why).passed


def test_threshold_on_lower_bound_judges_the_pessimistic_end():
    settings = replace(NON_INFERIORITY, threshold_on="lower_bound")
    # roc_auc 0.83 clears 0.80, but its interval reaches down to 0.79.
    shaky = {"roc_auc": alone(0.83, 0.79, 0.87), "log_loss": alone(0.40, 0.35, 0.45)}
    decision = decide(shaky, settings, has_champion=False)
    assert not decision.passed
    assert decision.reasons == [
        "roc_auc is 0.8300, but its 95% interval reaches down to 0.7900; minimum allowed is 0.8000"
    ]
    assert decide(shaky, NON_INFERIORITY, has_champion=False).passed
    # For log_loss (lower is better) the pessimistic end is the upper one.
    high_loss = {"roc_auc": alone(0.9, 0.85, 0.95), "log_loss": alone(0.45, 0.40, 0.52)}
    assert "reaches up to 0.5200; maximum allowed is 0.5000" in reasons_of(
        decide(high_loss, settings, has_champion=False)
    )


def test_champion_comparison_only_for_metrics_with_a_tolerance():
    estimates = {
        "roc_auc": paired(0.9, 0.9, -0.01, 0.01),
        "log_loss": paired(0.3, 0.3, -0.01, 0.01),
        "precision": paired(0.1, 0.99, -0.95, -0.85),  # no tolerance: reported, not judged
    }
    decision = decide(estimates, NON_INFERIORITY, has_champion=True)
    assert decision.passed
    [precision] = [c for c in decision.checks if c.metric == "precision"]
    assert precision.verdict == WORSE and precision.failed == []


def test_threshold_and_champion_failures_are_both_reported():
    estimates = {"roc_auc": paired(0.70, 0.95, -0.3, -0.2), "log_loss": paired(0.1, 0.1, 0, 0)}
    decision = decide(estimates, NON_INFERIORITY, has_champion=True)
    [check] = [c for c in decision.checks if c.metric == "roc_auc"]
    assert check.failed == ["threshold", "champion"]
    assert decision.summary.endswith("(and 1 more).")


@pytest.mark.parametrize(
    ("delta_interval", "tolerance", "expected"),
    [
        (Interval(0.001, 0.02), 0.01, BETTER),
        (Interval(-0.005, 0.02), 0.01, NO_DIFFERENCE),
        (Interval(-0.02, -0.001), 0.05, WORSE),
        (Interval(-0.02, -0.011), 0.01, WORSE_BEYOND_TOLERANCE),
        (Interval(-0.02, -0.011), None, WORSE),
        (None, 0.01, None),
    ],
)
def test_verdicts(delta_interval, tolerance, expected):
    assert verdict("roc_auc", delta_interval, tolerance) == expected


def test_regression_metrics_are_judged_alike():
    settings = GateSettings(
        "non_inferiority", "value", 0.95, {"r2": 0.5, "rmse": 10.0}, {"rmse": 1.0}
    )
    estimates = {"r2": alone(0.7), "rmse": Estimate(8.0, None, 6.5, 1.5, Interval(1.1, 1.9))}
    decision = decide(estimates, settings, has_champion=True)
    assert not decision.passed
    # rmse is in the target's units: four significant digits, its difference alike.
    assert reasons_of(decision) == (
        "rmse is 8.000, worse than the champion's 6.500 beyond the tolerance of 1.000 "
        "(95% interval +1.100 to +1.900)"
    )


def test_multiclass_metrics_are_judged_and_loosened_alike():
    """Averaged metrics go through the same rules: a threshold, a champion tolerance, and
    loosening named by direction (f1_macro higher is better, log_loss lower)."""
    settings = GateSettings(
        "non_inferiority", "value", 0.95, {"f1_macro": 0.8}, {"balanced_accuracy": 0.01}
    )
    estimates = {
        "f1_macro": alone(0.79),
        "balanced_accuracy": paired(0.85, 0.9, -0.08, -0.02),
        "roc_auc_ovr": alone(0.97),  # reported, not judged
    }
    decision = decide(estimates, settings, has_champion=True)
    assert reasons_of(decision) == (
        "f1_macro is 0.7900, minimum allowed is 0.8000 | balanced_accuracy is 0.8500, worse "
        "than the champion's 0.9000 beyond the tolerance of 0.0100 (95% interval -0.0800 to "
        "-0.0200)"
    )
    assert [c.passed for c in decision.checks] == [False, False, True]
    head = replace(settings, thresholds={"f1_macro": 0.7}, tolerances={"balanced_accuracy": 0.05})
    assert loosened(settings, head) == [
        "gate.thresholds.f1_macro lowered from 0.8 to 0.7",
        "gate.champion_tolerance.balanced_accuracy widened from 0.01 to 0.05",
    ]


def test_tightening_and_unchanged_gates_are_not_loosening():
    stricter = GateSettings(
        "superiority", "lower_bound", 0.95, {"roc_auc": 0.85, "log_loss": 0.4, "f1": 0.5}, {}
    )
    assert loosened(POINT, POINT) == []
    assert loosened(POINT, replace(POINT, thresholds={**THRESHOLDS, "roc_auc": 0.9})) == []
    assert loosened(NON_INFERIORITY, replace(POINT, tolerances={**TOLERANCES, "f1": 0.1})) == []
    assert loosened(POINT, replace(stricter, tolerances=TOLERANCES)) == []


def test_each_way_of_loosening_is_named():
    head = GateSettings(
        rule="non_inferiority",
        threshold_on="value",
        confidence=0.99,
        thresholds={"roc_auc": 0.75},  # lowered; log_loss removed
        tolerances={"roc_auc": 0.05},  # widened; log_loss removed
    )
    base = replace(POINT, threshold_on="lower_bound")
    assert loosened(base, head) == [
        "gate.thresholds.roc_auc lowered from 0.8 to 0.75",
        "gate.thresholds.log_loss removed (was 0.5)",
        "gate.champion_tolerance.roc_auc widened from 0.01 to 0.05",
        "gate.champion_tolerance.log_loss removed (was 0.02): log_loss is no longer compared "
        "with the champion",
        "gate.rule weakened from point to non_inferiority",
        "gate.threshold_on weakened from lower_bound to value",
        "gate.confidence raised from 0.95 to 0.99: under non_inferiority a wider interval "
        "blocks fewer candidates",
    ]
    raised_max = replace(POINT, thresholds={**THRESHOLDS, "log_loss": 0.6})
    assert loosened(POINT, raised_max) == ["gate.thresholds.log_loss raised from 0.5 to 0.6"]
    narrower = replace(SUPERIORITY, confidence=0.8)
    assert loosened(SUPERIORITY, narrower) == [
        "gate.confidence lowered from 0.95 to 0.8: a narrower interval is easier to clear"
    ]

"""The deploy gate: a pure decision from the estimates, the gate settings and the champion.

MLflow's `validate_evaluation_results` / `MetricThreshold` cannot express this gate: it knows
neither a tolerance below the champion ("no worse than the champion minus a tolerance", so that
retraining on the same data does not block every deploy) nor intervals. The rules are therefore
written out here, with no I/O.

Rules for the comparison with the champion (per metric under `gate.champion_tolerance`;
"gain" is the difference candidate − champion, turned so that positive is better):
- `point`: the gain's point estimate is at least −tolerance.
- `non_inferiority`: fails only if the whole interval of the gain lies below −tolerance, i.e.
  the data show the candidate worse by more than the tolerance. Noise alone never blocks.
- `superiority`: the whole interval of the gain lies above 0 (tolerances are not used).
Thresholds are judged on the value, or with `threshold_on: lower_bound` on the pessimistic end
of the candidate's interval (the upper end for lower-is-better metrics).
"""

import math
from dataclasses import asdict, dataclass, field
from typing import Literal

from mlops.bootstrap import Estimate, Interval
from mlops.metrics import METRICS, figures

# Metric values are floats computed in different processes; equal-to-the-threshold must pass.
EPSILON = 1e-9

Rule = Literal["point", "non_inferiority", "superiority"]
ThresholdOn = Literal["value", "lower_bound"]
# From the rule that lets most candidates through to the one that lets fewest through.
RULES_BY_STRICTNESS: tuple[Rule, ...] = ("non_inferiority", "point", "superiority")
THRESHOLD_ON_BY_STRICTNESS: tuple[ThresholdOn, ...] = ("value", "lower_bound")

BETTER = "better"
NO_DIFFERENCE = "no detectable difference"
WORSE = "worse"
WORSE_BEYOND_TOLERANCE = "worse beyond tolerance"


@dataclass(frozen=True)
class GateSettings:
    rule: Rule
    threshold_on: ThresholdOn
    confidence: float
    thresholds: dict[str, float]
    tolerances: dict[str, float]


@dataclass(frozen=True)
class MetricCheck:
    """One metric's row in the gate's table. `failed` names the checks that failed:
    "threshold" and/or "champion"."""

    metric: str
    value: float | None
    interval: Interval | None
    threshold: float | None
    champion: float | None
    delta: float | None
    delta_interval: Interval | None
    tolerance: float | None
    verdict: str | None
    passed: bool
    failed: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Decision:
    passed: bool
    summary: str  # one sentence: the decision and why
    reasons: list[str]
    checks: list[MetricCheck]

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "summary": self.summary,
            "reasons": self.reasons,
            "checks": [asdict(check) for check in self.checks],
        }


def _usable(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def _gain(metric: str, interval: Interval) -> tuple[float, float]:
    """The interval of the difference turned so that positive is better: (low, high)."""
    if METRICS[metric].greater_is_better:
        return interval.low, interval.high
    return -interval.high, -interval.low


def verdict(metric: str, delta_interval: Interval | None, tolerance: float | None) -> str | None:
    """What the interval of the difference says, whatever the rule: better, no detectable
    difference, worse, or worse beyond tolerance. None without an interval."""
    if delta_interval is None:
        return None
    low, high = _gain(metric, delta_interval)
    if low > EPSILON:
        return BETTER
    if tolerance is not None and high < -tolerance - EPSILON:
        return WORSE_BEYOND_TOLERANCE
    if high < -EPSILON:
        return WORSE
    return NO_DIFFERENCE


def _threshold_reason(
    name: str,
    estimate: Estimate,
    threshold: float,
    settings: GateSettings,
    no_intervals: str | None,
) -> str | None:
    metric, shown = METRICS[name], figures(name, estimate.value)
    sign = 1.0 if metric.greater_is_better else -1.0
    word = "minimum" if metric.greater_is_better else "maximum"
    if settings.threshold_on == "value":
        if sign * (estimate.value - threshold) < -EPSILON:
            return f"{name} is {shown(estimate.value)}, {word} allowed is {shown(threshold)}"
        return None
    if estimate.interval is None:
        if no_intervals:
            return f"{name}: no interval, which threshold_on lower_bound needs: {no_intervals}"
        return f"{name}: its interval could not be estimated, and threshold_on is lower_bound"
    bound = estimate.interval.low if metric.greater_is_better else estimate.interval.high
    if sign * (bound - threshold) < -EPSILON:
        end = "down" if metric.greater_is_better else "up"
        return (
            f"{name} is {shown(estimate.value)}, but its {settings.confidence:.0%} interval "
            f"reaches {end} to {shown(bound)}; {word} allowed is {shown(threshold)}"
        )
    return None


def _champion_reason(
    name: str,
    estimate: Estimate,
    tolerance: float,
    settings: GateSettings,
    no_intervals: str | None,
) -> str | None:
    if not _usable(estimate.champion):
        return None  # the champion could not be scored on this metric: nothing to compare
    shown = figures(name, estimate.value)
    worse = (
        f"{name} is {shown(estimate.value)}, worse than the champion's {shown(estimate.champion)}"
    )
    if settings.rule == "point":
        sign = 1.0 if METRICS[name].greater_is_better else -1.0
        if sign * estimate.delta < -tolerance - EPSILON:
            return f"{worse} by more than the tolerance of {shown(tolerance)}"
        return None
    if estimate.delta_interval is None:
        if no_intervals:
            return (
                f"{name}: no interval of the difference, which {settings.rule} needs: "
                f"{no_intervals}"
            )
        return f"{name}: the interval of the difference could not be estimated ({settings.rule})"
    low, high = _gain(name, estimate.delta_interval)
    ends = estimate.delta_interval
    interval = (
        f"{settings.confidence:.0%} interval {shown(ends.low, signed=True)} to "
        f"{shown(ends.high, signed=True)}"
    )
    if settings.rule == "non_inferiority" and high < -tolerance - EPSILON:
        return f"{worse} beyond the tolerance of {shown(tolerance)} ({interval})"
    if settings.rule == "superiority" and not low > EPSILON:
        return (
            f"{name} shows no improvement over the champion's {shown(estimate.champion)} "
            f"({interval}); superiority needs the whole interval above zero"
        )
    return None


def _check_metric(
    name: str,
    estimate: Estimate | None,
    settings: GateSettings,
    has_champion: bool,
    no_intervals: str | None,
) -> MetricCheck:
    estimate = estimate or Estimate(value=None, interval=None)
    threshold = settings.thresholds.get(name)
    tolerance = settings.tolerances.get(name)
    compared = has_champion and tolerance is not None
    failed: list[str] = []
    reasons: list[str] = []
    if (threshold is not None or compared) and not _usable(estimate.value):
        failed.append("threshold" if threshold is not None else "champion")
        reasons.append(
            f"{name} could not be computed ({estimate.value}); a missing metric never passes"
        )
    else:
        if threshold is not None:
            reason = _threshold_reason(name, estimate, threshold, settings, no_intervals)
            if reason:
                failed.append("threshold")
                reasons.append(reason)
        if compared:
            reason = _champion_reason(name, estimate, tolerance, settings, no_intervals)
            if reason:
                failed.append("champion")
                reasons.append(reason)
    return MetricCheck(
        metric=name,
        value=estimate.value,
        interval=estimate.interval,
        threshold=threshold,
        champion=estimate.champion,
        delta=estimate.delta,
        delta_interval=estimate.delta_interval,
        tolerance=tolerance,
        verdict=verdict(name, estimate.delta_interval, tolerance) if has_champion else None,
        passed=not reasons,
        failed=failed,
        reasons=reasons,
    )


def _passed_summary(settings: GateSettings, has_champion: bool) -> str:
    on = " (on the pessimistic end of each interval)" if settings.threshold_on != "value" else ""
    thresholds = f"every threshold holds{on}" if settings.thresholds else "no threshold is set"
    if not has_champion:
        return f"Deploy: {thresholds}, and there is no champion yet to compare with."
    if not settings.tolerances:
        return f"Deploy: {thresholds}; no metric is compared with the champion."
    confidence = f"{settings.confidence:.0%}"
    champion_part = {
        "point": "no compared metric is worse than the champion by more than its tolerance",
        "non_inferiority": f"no compared metric's {confidence} interval shows the candidate "
        "worse than the champion by more than its tolerance",
        "superiority": f"every compared metric's {confidence} interval shows an improvement "
        "over the champion",
    }[settings.rule]
    return f"Deploy: {thresholds}, and {champion_part}."


def decide(
    estimates: dict[str, Estimate],
    settings: GateSettings,
    has_champion: bool,
    no_intervals: str | None = None,
) -> Decision:
    """Pass only if every threshold holds and, with a champion, every metric under the
    tolerances passes the rule. With no champion the candidate is judged on thresholds alone.
    A missing or NaN value, or a missing interval the settings need, never passes.
    `no_intervals`: why the bootstrap computed no interval at all (too few held-out groups
    or blocks), for the reasons of the checks that needed one."""
    names = list(dict.fromkeys([*estimates, *settings.thresholds, *settings.tolerances]))
    checks = [
        _check_metric(n, estimates.get(n), settings, has_champion, no_intervals) for n in names
    ]
    reasons = [reason for check in checks for reason in check.reasons]
    if reasons:
        more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
        return Decision(False, f"No deploy: {reasons[0]}{more}.", reasons, checks)
    summary = _passed_summary(settings, has_champion)
    return Decision(True, summary, [summary.removeprefix("Deploy: ")], checks)


def loosened(base: GateSettings, head: GateSettings) -> list[str]:
    """How `head` lets through candidates that `base` would stop, one line per change:
    a threshold lowered (raised where lower is better) or removed, a tolerance widened or
    removed, a weaker rule or threshold_on, or a confidence that widens what the rule forgives."""
    changes = []
    for name, was in base.thresholds.items():
        now = head.thresholds.get(name)
        if now is None:
            changes.append(f"gate.thresholds.{name} removed (was {was})")
        elif (now - was) * (1 if METRICS[name].greater_is_better else -1) < -EPSILON:
            word = "lowered" if METRICS[name].greater_is_better else "raised"
            changes.append(f"gate.thresholds.{name} {word} from {was} to {now}")
    for name, was in base.tolerances.items():
        now = head.tolerances.get(name)
        if now is None:
            changes.append(
                f"gate.champion_tolerance.{name} removed (was {was}): "
                f"{name} is no longer compared with the champion"
            )
        elif now > was + EPSILON:
            changes.append(f"gate.champion_tolerance.{name} widened from {was} to {now}")
    if RULES_BY_STRICTNESS.index(head.rule) < RULES_BY_STRICTNESS.index(base.rule):
        changes.append(f"gate.rule weakened from {base.rule} to {head.rule}")
    if THRESHOLD_ON_BY_STRICTNESS.index(head.threshold_on) < THRESHOLD_ON_BY_STRICTNESS.index(
        base.threshold_on
    ):
        changes.append(
            f"gate.threshold_on weakened from {base.threshold_on} to {head.threshold_on}"
        )
    # A wider interval forgives more under non_inferiority; a narrower one under the others.
    if head.confidence > base.confidence and head.rule == "non_inferiority" and head.tolerances:
        changes.append(
            f"gate.confidence raised from {base.confidence} to {head.confidence}: under "
            "non_inferiority a wider interval blocks fewer candidates"
        )
    uses_low_end = head.rule == "superiority" or head.threshold_on == "lower_bound"
    if head.confidence < base.confidence and uses_low_end:
        changes.append(
            f"gate.confidence lowered from {base.confidence} to {head.confidence}: a narrower "
            "interval is easier to clear"
        )
    return changes

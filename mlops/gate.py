"""The deploy gate: a pure decision from metrics, thresholds and the champion's metrics.

MLflow's `validate_evaluation_results` / `MetricThreshold` cannot express this gate: its
`min_absolute_change` must be positive (the candidate must *beat* the baseline), while a
template needs "no worse than the champion minus a tolerance" so that retraining on the same
data does not block every deploy. The rules are therefore written out here, with no I/O.
"""

import math
from dataclasses import asdict, dataclass, field

from mlops.metrics import METRICS

# Metric values are floats computed in different processes; equal-to-the-threshold must pass.
EPSILON = 1e-9


@dataclass(frozen=True)
class MetricCheck:
    """One metric's row in the gate's table."""

    metric: str
    value: float | None
    threshold: float | None
    champion: float | None
    tolerance: float | None
    passed: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def delta(self) -> float | None:
        if self.value is None or self.champion is None:
            return None
        return self.value - self.champion


@dataclass(frozen=True)
class Decision:
    passed: bool
    reasons: list[str]
    checks: list[MetricCheck]

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "reasons": self.reasons,
            "checks": [{**asdict(check), "delta": check.delta} for check in self.checks],
        }


def _usable(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def _check_metric(
    name: str,
    value: float | None,
    threshold: float | None,
    champion: float | None,
    tolerance: float | None,
) -> MetricCheck:
    metric = METRICS[name]
    sign = 1.0 if metric.greater_is_better else -1.0
    word = "minimum" if metric.greater_is_better else "maximum"
    reasons: list[str] = []
    judged = threshold is not None or (tolerance is not None and champion is not None)
    if judged and not _usable(value):
        reasons.append(f"{name} could not be computed ({value}); a missing metric never passes")
    else:
        if threshold is not None and sign * (value - threshold) < -EPSILON:
            reasons.append(f"{name} is {value:.4f}, {word} allowed is {threshold:.4f}")
        if tolerance is not None and _usable(champion):
            limit = champion - sign * tolerance
            if sign * (value - limit) < -EPSILON:
                reasons.append(
                    f"{name} is {value:.4f}, worse than the champion's {champion:.4f} "
                    f"by more than the tolerance of {tolerance:.4f}"
                )
    return MetricCheck(name, value, threshold, champion, tolerance, not reasons, reasons)


def decide(
    metrics: dict[str, float],
    thresholds: dict[str, float],
    tolerances: dict[str, float],
    champion_metrics: dict[str, float] | None,
) -> Decision:
    """Pass only if every threshold holds and, with a champion, no metric is worse than its
    tolerance allows. With no champion the candidate is judged on thresholds alone."""
    names = list(dict.fromkeys([*metrics, *thresholds, *tolerances]))
    checks = [
        _check_metric(
            name,
            metrics.get(name),
            thresholds.get(name),
            None if champion_metrics is None else champion_metrics.get(name),
            tolerances.get(name),
        )
        for name in names
    ]
    reasons = [reason for check in checks for reason in check.reasons]
    passed = not reasons
    if passed:
        reasons = [f"every threshold holds ({', '.join(sorted(thresholds)) or 'none set'})"]
        if champion_metrics is None:
            reasons.append("no champion yet: judged on thresholds alone")
        elif tolerances:
            reasons.append(
                f"no worse than the champion beyond tolerance ({', '.join(sorted(tolerances))})"
            )
    return Decision(passed, reasons, checks)

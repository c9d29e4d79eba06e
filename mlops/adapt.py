"""Draft a project for a new CSV: profile it, then write config.yaml and an expectation suite.

Everything here is a draft for a person to review: the column kinds, the rules of the suite
and the gate's thresholds are inferred from the one file at hand. Drafted files carry a
fingerprint of their content, so a later run can tell a draft nobody touched (replaced
freely) from one a user has adapted (kept unless forced).
"""

import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mlops.config import DataSection, GateSection, MonitoringSection
from mlops.errors import PipelineError
from mlops.markdown import some
from mlops.metrics import METRICS, Shape, Task, class_names, shape_of
from mlops.splits import cross_validation_folds, parse_times

# A string column with more distinct values than this share of its rows (and at least
# FREE_TEXT_MIN_LEVELS of them) reads like free text or an identifier, not a category.
FREE_TEXT_SHARE = 0.5
FREE_TEXT_MIN_LEVELS = 100
# Integer columns with at most this many values may be codes rather than quantities.
FEW_VALUES = 10
# Numbers beyond this overflow when squared (scaling computes a variance).
LARGEST_MAGNITUDE = 1e150
# Distinct times a column of dates needs to order the rows by: two time-ordered folds.
MIN_TIMES = 3
POSITIVE_LABELS = ("1", "yes", "y", "true", "t", "positive", "pos")
BASELINE_MAX_ROWS = 20_000
BASELINE_FOLDS = 5  # fewer when a class (or the table) is too small for five
GATED = {
    "binary": ("roc_auc", "f1"),
    "multiclass": ("f1_macro", "balanced_accuracy"),
    "regression": ("r2", "rmse"),
}
# The drafted gate spells out the comparison settings, at their defaults.
GATE_DEFAULTS = {
    key: GateSection.model_fields[key].default
    for key in ("rule", "threshold_on", "confidence", "bootstrap_resamples")
}
REPORTED = {
    "binary": ["roc_auc", "f1", "precision", "recall", "accuracy", "log_loss"],
    "multiclass": [
        "f1_macro",
        "balanced_accuracy",
        "accuracy",
        "f1_weighted",
        "roc_auc_ovr",
        "log_loss",
    ],
    "regression": ["rmse", "mae", "r2"],
}
# roc_auc_ovr ranks the rows once per class in every resample: left out of the draft above
# this many classes, where it would slow the gate most.
RANKED_CLASSES = 10
# Classes drafted at most, as data.max_classes defaults to (a text target with more is more
# likely an ID or free text than a label).
MAX_CLASSES = DataSection.model_fields["max_classes"].default
DEFAULT_PARAMS = {"classification": {"C": 1.0, "max_iter": 1000}, "regression": {"alpha": 1.0}}
DRAFT_MARK = "drafted by make adapt"
MODEL_SUFFIX = {"classification": "classifier", "regression": "regressor"}


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    dtype: str  # as pandas reads it from the CSV: int64, float64, str, bool
    missing: int
    distinct: int
    kind: str  # numeric | categorical | target | time | group | left out
    minimum: float | None = None
    maximum: float | None = None
    levels: list[Any] = field(default_factory=list)
    note: str = ""  # why it was left out, or what to look at
    whole_numbers: bool = False  # numbers without fractions (int64, or float64 with gaps)


@dataclass(frozen=True)
class Profile:
    path: Path
    rows: int
    duplicate_share: float  # rows that belong to a group of identical rows
    target: str
    task: Task
    positive_class: str | None
    columns: list[ColumnProfile]
    baseline_folds: int = BASELINE_FOLDS
    rarest_class: tuple[str, int] | None = None  # classification: its name and rows

    def of_kind(self, kind: str) -> list[str]:
        return [c.name for c in self.columns if c.kind == kind]

    @property
    def time_column(self) -> str | None:
        """The column the drafted split orders rows by (split.time_column), if any."""
        return next(iter(self.of_kind("time")), None)

    @property
    def shape(self) -> Shape:
        return shape_of(self.task, self.positive_class)

    @property
    def target_column(self) -> ColumnProfile:
        return next(c for c in self.columns if c.kind == "target")

    @property
    def reported(self) -> list[str]:
        """The metrics the drafted config reports: REPORTED for the shape, without
        roc_auc_ovr beyond RANKED_CLASSES classes."""
        many = self.target_column.distinct > RANKED_CLASSES
        return [m for m in REPORTED[self.shape] if not (many and m == "roc_auc_ovr")]


@dataclass(frozen=True)
class Baseline:
    """The drafted linear model's cross-validated scores: each reported metric's mean and
    standard deviation over `folds` folds, time-ordered when the draft splits by time."""

    metrics: dict[str, tuple[float, float]]
    folds: int
    time_ordered: bool = False

    def describe_folds(self) -> str:
        return f"{self.folds} {'time-ordered ' if self.time_ordered else ''}folds"


def _is_numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def _sorted_levels(values: pd.Series) -> list[Any]:
    levels = values.dropna().unique().tolist()
    return sorted(levels, key=lambda v: (str(type(v)), v))


def infer_task(target: pd.Series) -> Task:
    """Classification for two values or text, regression for other numbers."""
    if target.nunique(dropna=True) == 2 or not _is_numeric(target):
        return "classification"
    return "regression"


def infer_positive_class(target: pd.Series) -> str:
    """A conventional positive label (1, yes, true, ...) if there is one, else the rarer class."""
    counts = target.astype("string").value_counts()
    for label in counts.index:
        if label.strip().lower() in POSITIVE_LABELS:
            return str(label)
    return str(counts.sort_index(ascending=False).idxmin())


def _unusable_numbers(values: pd.Series) -> str | None:
    """What in a numeric column no model here can take: infinities, or magnitudes whose
    squares overflow (the scaler's variance), as a note; None when all is well."""
    infinite = int(np.isinf(values).sum())
    if infinite:
        return f"infinite values (inf) in {infinite} row(s)"
    huge = int((values.abs() > LARGEST_MAGNITUDE).sum())
    if huge:
        return f"values beyond ±{LARGEST_MAGNITUDE:g} in {huge} row(s)"
    return None


def _as_time(values: pd.Series) -> tuple[str, str] | None:
    """("time", why) for text that reads as dates and times (mlops/splits.py), ("left out",
    why) for dates the rows cannot be ordered by; None for anything else: numbers are never
    taken for dates, nor is text with a value that reads as none."""
    if _is_numeric(values):
        return None
    try:
        times = parse_times(values)
    except ValueError:
        return None
    missing = int(values.isna().sum())
    if missing:
        return "left out", (
            f"dates, empty in {missing} row(s): to order the rows by them "
            "(split.time_column), every row needs one"
        )
    if times.nunique() < MIN_TIMES:
        return "left out", f"dates, {times.nunique()} distinct: too few to order the rows by"
    return "time", "dates: split.time_column, the most recent rows are held out"


def _infer_kind(values: pd.Series, rows: int) -> tuple[str, str]:
    """(numeric | categorical | time | left out, why) for a column other than the target,
    from its values alone."""
    missing = int(values.isna().sum())
    distinct = int(values.nunique(dropna=True))
    if distinct == 0:
        return "left out", "empty: no values at all"
    if distinct == 1:
        return "left out", "constant: one value in every row"
    time = _as_time(values)
    if time:
        return time
    if _is_numeric(values):
        unusable = _unusable_numbers(values)
        if unusable:
            return "left out", f"{unusable}: the model cannot take them"
        integer = pd.api.types.is_integer_dtype(values)
        if integer and distinct == rows:
            return "left out", "ID-like: a different integer in every row"
        if integer and 2 < distinct <= FEW_VALUES:
            return "numeric", (
                f"only {distinct} integer values: if they are codes, not quantities, "
                "move it to categorical_features"
            )
        return "numeric", ""
    if distinct == rows:
        return "left out", "ID-like: a different value in every row"
    if distinct >= FREE_TEXT_MIN_LEVELS and distinct > FREE_TEXT_SHARE * (rows - missing):
        return (
            "left out",
            f"{distinct} distinct values in {rows - missing} rows: free text or an ID",
        )
    return "categorical", (
        f"{distinct} levels: one-hot encoded into as many columns" if distinct > 50 else ""
    )


def column_profile(
    name: str, values: pd.Series, kind: str, note: str = "", task: Task | None = None
) -> ColumnProfile:
    """The figures the suite needs for a column of the given kind (a range for numbers and a
    regression target, the levels for categories and a classification target)."""
    numeric = kind == "numeric" or (kind == "target" and task == "regression")
    return ColumnProfile(
        name=name,
        dtype=str(values.dtype),
        missing=int(values.isna().sum()),
        distinct=int(values.nunique(dropna=True)),
        kind=kind,
        minimum=float(values.min()) if numeric else None,
        maximum=float(values.max()) if numeric else None,
        levels=_sorted_levels(values) if kind in ("categorical", "target") and not numeric else [],
        note=note,
        whole_numbers=numeric and bool((values.dropna() % 1 == 0).all()),
    )


def profile_frame(
    frame: pd.DataFrame,
    path: Path,
    target: str,
    task: Task | None = None,
    positive_class: str | None = None,
    kinds: dict[str, tuple[str, str]] | None = None,
) -> Profile:
    """Column kinds, ranges and levels, the task and the positive class, or one clear error.

    `kinds` (column -> (kind, note)) replaces the inference, as when the config decides.
    """
    if target not in frame.columns:
        raise PipelineError(
            f"{path}: no column {target!r} to use as the target; columns: {list(frame.columns)}"
        )
    values = frame[target]
    if values.isna().any():
        raise PipelineError(
            f"{path}: the target {target!r} is empty in {int(values.isna().sum())} row(s); "
            "every row needs a value (drop those rows first)"
        )
    if values.nunique() < 2:
        raise PipelineError(
            f"{path}: the target {target!r} has a single value ({str(values.iloc[0])!r}); "
            "there is nothing to learn"
        )
    inferred = task is None
    task = task or infer_task(values)
    if task == "classification":
        classes = class_names(values.astype("string"))
        if len(classes) > MAX_CLASSES:
            raise PipelineError(
                f"{path}: the target {target!r} has {len(classes)} distinct values, more than "
                f"{MAX_CLASSES} classes (data.max_classes' default); is it an ID or free text? "
                + ("Choose TASK=regression for a numeric target" if _is_numeric(values) else "")
            )
        if len(classes) == 2:
            positive_class = positive_class or infer_positive_class(values)
        elif positive_class is not None:
            raise PipelineError(
                f"{path}: POSITIVE ({positive_class!r}) is for a target of two classes; "
                f"{target!r} has {len(classes)}, whose metrics are averaged over the classes"
            )
        if positive_class is not None and positive_class not in classes:
            raise PipelineError(
                f"{path}: the positive class {positive_class!r} is not a value of "
                f"{target!r}; expected one of {classes}"
            )
        target_profile = column_profile(target, values, "target", task=task)
    else:
        if not _is_numeric(values):
            raise PipelineError(
                f"{path}: the target {target!r} is not numeric ({values.dtype}); regression "
                "needs numbers"
            )
        if positive_class is not None:
            raise PipelineError("POSITIVE is for classification; regression has no positive class")
        distinct = values.nunique()
        note = ""
        if inferred and pd.api.types.is_integer_dtype(values) and distinct <= FEW_VALUES:
            note = (
                f"only {distinct} integer values: if they are classes, not quantities, "
                "draft again with TASK=classification"
            )
        target_profile = column_profile(target, values, "target", note, task=task)
    rows = len(frame)
    kinds = kinds or _one_time_column(
        {name: _infer_kind(frame[name], rows) for name in frame.columns if name != target}
    )
    time_column = next((name for name, (kind, _) in kinds.items() if kind == "time"), None)
    try:
        times = parse_times(frame[time_column]) if time_column else None
    except ValueError as error:  # a config's time column (make suite)
        raise PipelineError(f"{path}: split.time_column {time_column!r}: {error}") from None
    folds = _baseline_folds(path, values, target, task, times)
    for name in frame.columns:
        numeric = kinds[name][0] == "numeric" if name != target else task == "regression"
        unusable = _unusable_numbers(frame[name]) if numeric and _is_numeric(frame[name]) else None
        if unusable:
            raise PipelineError(
                f"{path}: column {name!r} holds {unusable}; the model cannot take them: fix "
                "the data or leave the column out"
            )
    columns = [
        target_profile if name == target else column_profile(name, frame[name], *kinds[name])
        for name in frame.columns
    ]
    if not any(c.kind in ("numeric", "categorical") for c in columns):
        raise PipelineError(f"{path}: no usable feature columns besides the target {target!r}")
    return Profile(
        path=path,
        rows=rows,
        duplicate_share=float(frame.duplicated(keep=False).mean()),
        target=target,
        task=task,
        positive_class=positive_class if task == "classification" else None,
        columns=columns,
        baseline_folds=folds,
        rarest_class=_rarest(values) if task == "classification" else None,
    )


def _rarest(target: pd.Series) -> tuple[str, int]:
    counts = target.astype(str).value_counts().sort_values(kind="stable")
    return str(counts.index[0]), int(counts.iloc[0])


def _one_time_column(kinds: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """The first column of dates orders the rows; any other is left out, named as the
    alternative."""
    dates = [name for name, (kind, _) in kinds.items() if kind == "time"]
    for other in dates[1:]:
        kinds[other] = (
            "left out",
            f"dates too: set split.time_column to it if it, not {dates[0]!r}, orders the rows",
        )
    return kinds


def _baseline_folds(
    path: Path, target: pd.Series, name: str, task: Task, times: pd.Series | None
) -> int:
    """As many cross-validation folds as the rows allow, up to BASELINE_FOLDS: every fold
    holds out a row of each class (classification) or two rows (regression), in two folds
    at least; a smaller table is refused. Time-ordered folds need one distinct time more
    than their number (the first period only trains)."""
    if task == "classification":
        counts = target.astype("string").value_counts()
        if counts.min() < 2:
            raise PipelineError(
                f"{path}: the target {name!r} has {int(counts.min())} row of class "
                f"{counts.idxmin()!r}; each class needs at least 2 (one on each side of the "
                "held-out split)"
            )
        if times is not None:
            return min(BASELINE_FOLDS, times.nunique() - 1)
        return min(BASELINE_FOLDS, int(counts.min()))
    if len(target) < 4:
        raise PipelineError(
            f"{path}: {len(target)} rows; regression needs at least 4 to draft from (a "
            "cross-validated baseline holds out two rows per fold)"
        )
    if times is not None:
        return min(BASELINE_FOLDS, times.nunique() - 1)
    return min(BASELINE_FOLDS, len(target) // 2)


# ---------------------------------------------------------------- expectation suite


def _outward(value: float, up: bool, integer: bool) -> float:
    """Round away from `value`: to a whole number for integer columns, else to 3 significant
    digits, so that bounds read well."""
    if integer or value == 0:
        return float(math.ceil(value) if up else math.floor(value))
    # Decimal: exact at any magnitude (10**digits overflows a float near its limits).
    quantum = Decimal(1).scaleb(math.floor(math.log10(abs(value))) - 2)
    # Nine digits more first, so float noise (0.1 * 1000 = 100.00000000000001) moves no digit.
    exact = Decimal(value).quantize(quantum.scaleb(-9))
    bound = float(exact.quantize(quantum, rounding=ROUND_CEILING if up else ROUND_FLOOR))
    return bound if math.isfinite(bound) else value


def _range(column: ColumnProfile, margin: float = 0.1) -> tuple[float, float]:
    """Observed range widened by a share of its span, never below 0 for non-negative data;
    exact for whole-number columns with few values (flags, scales, codes). The bounds never
    cut off an observed value, even where the span is far below the values' own precision."""
    if column.whole_numbers and column.distinct <= FEW_VALUES:
        return column.minimum, column.maximum
    span = column.maximum - column.minimum
    low, high = column.minimum - margin * span, column.maximum + margin * span
    if not math.isfinite(high - low):  # near float's limits: no room to widen
        low, high = column.minimum, column.maximum
    if column.minimum >= 0:
        low = max(low, 0.0)
    whole = column.whole_numbers
    return (
        min(_outward(low, up=False, integer=whole), column.minimum),
        max(_outward(high, up=True, integer=whole), column.maximum),
    )


def _floor_below(share: float, margin: float, decimals: int) -> float:
    """A `mostly` under an observed share of rows: `margin` below it, but never more than
    half of it, rounded down, so that the rule holds on the data it was drafted from."""
    step = 10**decimals
    return math.floor((share - min(margin, share / 2)) * step) / step


def _mostly_not_null(column: ColumnProfile, rows: int) -> float | None:
    """None (every row) when the column has no gaps, else a floor below the observed share."""
    if column.missing == 0:
        return None
    missing = column.missing / rows
    return _floor_below(1 - missing, max(missing / 2, 0.02), decimals=2)


def _type_name(column: ColumnProfile) -> str:
    """The type GX checks: the dtype's name, as pandas reports it ("str" for text in pandas 3),
    except for true/false with gaps, which pandas reads as "object" and GX checks value by value."""
    if (
        column.dtype == "object"
        and column.levels
        and all(isinstance(v, bool) for v in column.levels)
    ):
        return "bool"
    return column.dtype


def draft_expectations(profile: Profile) -> list[dict[str, Any]]:
    """The suite's rules as (type, kwargs) records, in the order a reader expects them."""
    names = [c.name for c in profile.columns]
    duplicates = profile.duplicate_share
    rules: list[dict[str, Any]] = [
        {"type": "expect_table_columns_to_match_set", "kwargs": {"column_set": names}},
        {
            "type": "expect_table_row_count_to_be_between",
            "kwargs": {"min_value": max(1, profile.rows // 2), "max_value": profile.rows * 100},
        },
        {
            "type": "expect_compound_columns_to_be_unique",
            "kwargs": {
                "column_list": names,
                "mostly": min(0.99, _floor_below(1 - duplicates, duplicates, decimals=3)),
            },
        },
    ]
    for column in profile.columns:
        if column.kind == "left out":
            continue
        rules.append(
            {
                "type": "expect_column_values_to_be_of_type",
                "kwargs": {"column": column.name, "type_": _type_name(column)},
            }
        )
        mostly = _mostly_not_null(column, profile.rows)
        rules.append(
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {
                    "column": column.name,
                    **({"mostly": mostly} if mostly is not None else {}),
                },
            }
        )
        if column.minimum is not None:
            low, high = _range(column)
            rules.append(
                {
                    "type": "expect_column_values_to_be_between",
                    "kwargs": {"column": column.name, "min_value": low, "max_value": high},
                }
            )
        if column.levels:
            rules.append(
                {
                    "type": "expect_column_values_to_be_in_set",
                    "kwargs": {"column": column.name, "value_set": column.levels},
                }
            )
        if column.kind == "target" and profile.task == "classification":
            rules.append(
                {
                    "type": "expect_column_distinct_values_to_equal_set",
                    "kwargs": {"column": column.name, "value_set": column.levels},
                }
            )
    return [json.loads(json.dumps(rule, default=_json_scalar)) for rule in rules]


def _json_scalar(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {value!r} to JSON")


def suite_fingerprint(expectations: list[dict[str, Any]]) -> str:
    """sha256 of the rules alone (GX adds ids and defaults that say nothing about them)."""
    canonical = sorted(
        json.dumps([rule["type"], rule["kwargs"]], sort_keys=True) for rule in expectations
    )
    return hashlib.sha256("\n".join(canonical).encode()).hexdigest()


def suite_is_untouched_draft(path: Path) -> bool:
    """Whether the suite file is a draft whose rules nobody has changed since."""
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False
    recorded = (suite.get("meta") or {}).get("fingerprint")
    return recorded == suite_fingerprint(suite.get("expectations") or [])


# ---------------------------------------------------------------- config


def config_fingerprint(settings: dict[str, Any]) -> str:
    """A digest of the drafted settings. Where new data comes from (monitoring.data) is left
    out: pointing it at a batch is the user's next step, not an edit of the draft."""
    drafted = {**settings}
    if isinstance(drafted.get("monitoring"), dict):
        drafted["monitoring"] = {k: v for k, v in drafted["monitoring"].items() if k != "data"}
    return hashlib.sha256(json.dumps(drafted, sort_keys=True).encode()).hexdigest()


_FINGERPRINT_LINE = re.compile(rf"^# {DRAFT_MARK} .*fingerprint ([0-9a-f]{{64}})", re.MULTILINE)


def config_is_untouched_draft(path: Path) -> bool:
    """Whether config.yaml is a draft whose settings nobody has changed (comments aside)."""
    try:
        text = path.read_text(encoding="utf-8")
        settings = yaml.safe_load(text)
    except (OSError, yaml.YAMLError):
        return False
    found = _FINGERPRINT_LINE.search(text)
    return bool(found) and found.group(1) == config_fingerprint(settings)


def slug(text: str, separator: str = "-") -> str:
    words = re.findall(r"[A-Za-z0-9]+", text.lower())
    return separator.join(words) or "data"


def _flow(value: Any) -> str:
    """A value as one line of YAML (flow style), quoted only where YAML needs it."""
    return (
        yaml.safe_dump(value, default_flow_style=True, width=math.inf).strip().removesuffix("\n...")
    )


def propose_gate(baseline: dict[str, tuple[float, float]], shape: Shape) -> dict[str, Any]:
    """Thresholds two standard deviations below the baseline's cross-validated mean (above,
    for errors), and a champion tolerance of one standard deviation, per gated metric."""
    thresholds, tolerances = {}, {}
    for name in GATED[shape]:
        mean, std = baseline[name]
        metric = METRICS[name]
        sign = 1 if metric.greater_is_better else -1
        value = min(max(mean - sign * 2 * std, metric.lowest), metric.highest)
        # Rounded towards the easier side, so the baseline itself passes.
        thresholds[name] = _outward(value, up=not metric.greater_is_better, integer=False)
        tolerances[name] = max(_outward(std, up=True, integer=False), 0.001)
    return {**GATE_DEFAULTS, "thresholds": thresholds, "champion_tolerance": tolerances}


# Drafted as config.MonitoringSection's defaults, written out so a fork sees them
# (monitoring.data stays for the user to point at their new data).
MONITORING_DEFAULTS = {key: field.default for key, field in MonitoringSection.model_fields.items()}


MONITORING_NOTES = {
    "data": "the new batch: a path or glob (relative to this file) or an http(s) URL",
    "psi_threshold": "population stability index at which a feature has drifted",
    "test_alpha": "KS / chi-square significance, counted only with min_effect",
    "min_effect": "smallest KS distance or Cramér's V that counts as drift",
    "unseen_threshold": "share of rows with categories never seen in training",
    "missing_threshold": "change in the share of missing values (either way)",
    "on_drift": "report (an issue) | retrain (also runs the pipeline workflow)",
}


def render_config(
    profile: Profile,
    data_path: str,
    suite: str,
    gate: dict[str, Any],
    baseline: Baseline,
) -> str:
    """config.yaml for the profile, with comments that say what each key does."""
    task = profile.task
    name = slug(Path(data_path).stem)
    settings = {
        "data": {
            "path": data_path,
            "target": profile.target,
            "task": task,
            **({"positive_class": profile.positive_class} if profile.shape == "binary" else {}),
            "numeric_features": profile.of_kind("numeric"),
            "categorical_features": profile.of_kind("categorical"),
            "expectation_suite": suite,
            "max_file_mb": 500,
        },
        "split": {
            "test_fraction": 0.2,
            "seed": 42,
            **({"time_column": profile.time_column} if profile.time_column else {}),
        },
        "model": {"estimator": "linear", "params": DEFAULT_PARAMS[task]},
        "metrics": profile.reported,
        "gate": gate,
        "monitoring": MONITORING_DEFAULTS,
        "mlflow": {
            "experiment": name,
            "registered_model": f"{name}-{MODEL_SUFFIX[task]}",
        },
    }
    left_out = [c for c in profile.columns if c.kind == "left out"]
    baseline_note = ", ".join(
        f"{metric} {baseline.metrics[metric][0]:.3f} ± {baseline.metrics[metric][1]:.3f}"
        for metric in GATED[profile.shape]
    )
    data = settings["data"]
    held_out = ", stratified on the target" if task == "classification" else ""
    time_line = []
    if profile.time_column:
        held_out = ": the most recent rows by time_column"
        time_line = [f"  time_column: {_flow(profile.time_column)}  # dates or numbers, in order"]
    lines = [
        f"# {DRAFT_MARK} from {data_path}; fingerprint {config_fingerprint(settings)}",
        "# Review every value below, then commit. Once you change a setting, `make adapt`",
        "# keeps this file unless FORCE=1 (comments may change freely).",
        "# The single source of truth for the pipeline: no script or workflow holds a path,",
        "# a column name, a threshold or a model name. Reference: docs/configuration.md",
        "",
        "data:",
        f"  path: {_flow(data['path'])}  # relative to this file",
        f"  target: {_flow(data['target'])}  # the column to predict",
        f"  task: {task}  # classification (two or more classes) | regression (a number)",
    ]
    if profile.shape == "binary":
        lines.append(
            f"  positive_class: {_flow(data['positive_class'])}  # the class the metrics are about"
        )
    elif profile.shape == "multiclass":
        lines.append(
            f"  # {profile.target_column.distinct} classes, no positive_class: metrics are "
            "averaged over the classes"
        )
    lines += [
        f"  numeric_features: {_flow(data['numeric_features'])}",
        f"  categorical_features: {_flow(data['categorical_features'])}",
    ]
    if left_out:
        lines.append("  # left out: " + "; ".join(f"{c.name} ({c.note})" for c in left_out))
    lines += [
        f"  expectation_suite: {_flow(suite)}  # gx/expectations/<name>.json",
        "  max_file_mb: 500  # refuse larger files before reading them",
        "",
        "split:",
        f"  test_fraction: 0.2  # held-out share{held_out}",
        "  seed: 42  # split and model randomness",
        *time_line,
        "",
        "model:",
        "  estimator: linear  # linear | random_forest | hist_gradient_boosting | an import path"
        " | project_model",
        f"  params: {_flow(settings['model']['params'])}  # passed to the estimator as they are",
        "",
        f"metrics: {_flow(settings['metrics'])}",
        *(
            [f"# roc_auc_ovr is left out: with over {RANKED_CLASSES} classes it slows the gate."]
            if "roc_auc_ovr" in REPORTED[profile.shape] and "roc_auc_ovr" not in settings["metrics"]
            else []
        ),
        "",
        "# A starting point from a cross-validated baseline of the linear model:",
        f"# {baseline_note} (mean ± standard deviation over {baseline.describe_folds()}).",
        "# Thresholds sit two standard deviations below the mean (above, for errors),",
        "# tolerances at one. Set them from what your users need.",
        "gate:",
        "  # How a candidate is compared with the champion, on paired bootstrap intervals",
        "  # over the held-out rows (docs/gate.md). non_inferiority: refuse only when",
        "  # the interval shows it worse than the champion beyond the tolerance; point:",
        "  # compare the point estimates; superiority: deploy only on a shown improvement.",
        f"  rule: {gate['rule']}",
        f"  threshold_on: {gate['threshold_on']}  # value | lower_bound (the interval's worse end)",
        f"  confidence: {gate['confidence']}",
        f"  bootstrap_resamples: {gate['bootstrap_resamples']}  # seeded by split.seed; 0: off",
        "  thresholds:  # minimum to deploy (maximum where lower is better: log_loss, rmse, mae)",
        *[f"    {k}: {_flow(v)}" for k, v in gate["thresholds"].items()],
        "  champion_tolerance:  # how much worse than the current champion a candidate may be",
        *[f"    {k}: {_flow(v)}" for k, v in gate["champion_tolerance"].items()],
        "",
        "# make monitor: how new data compares with the champion's training data",
        "# (docs/monitoring.md).",
        "monitoring:",
        *[
            f"  {key}: {_flow(value)}  # {MONITORING_NOTES[key]}"
            for key, value in MONITORING_DEFAULTS.items()
        ],
        "",
        "mlflow:",
        f"  experiment: {_flow(settings['mlflow']['experiment'])}",
        f"  registered_model: {_flow(settings['mlflow']['registered_model'])}",
    ]
    text = "\n".join(lines) + "\n"
    assert yaml.safe_load(text) == settings, "rendered config does not round-trip"
    return text


# ---------------------------------------------------------------- baseline


def cross_validated_baseline(frame: pd.DataFrame, profile: Profile, seed: int = 42) -> Baseline:
    """Mean and standard deviation over folds of each reported metric, for the linear model
    the drafted config starts with, on at most BASELINE_MAX_ROWS rows. The folds follow the
    drafted split (mlops/splits.py): time-ordered by the time column, else shuffled."""
    from mlops.modeling import build_pipeline
    from mlops.scoring import score

    task, time_column = profile.task, profile.time_column
    # The whole column, as the profile read it: a sample alone could read in another format.
    every_time = parse_times(frame[time_column]) if time_column else None
    frame = _baseline_sample(frame, profile, seed)
    numeric, categorical = profile.of_kind("numeric"), profile.of_kind("categorical")
    x = frame[numeric + categorical].astype({name: "float64" for name in numeric})
    y = frame[profile.target]
    times = every_time.loc[frame.index] if every_time is not None else None
    folds = cross_validation_folds(y, task, profile.baseline_folds, seed, times)
    per_fold: dict[str, list[float]] = {name: [] for name in profile.reported}
    for train, test in folds:
        model = build_pipeline(
            task, "linear", DEFAULT_PARAMS[task], seed, numeric, categorical
        ).fit(x.iloc[train], y.iloc[train])
        scores = score(
            model, x.iloc[test], y.iloc[test], task, profile.positive_class, profile.reported
        )
        for name, value in scores.metrics.items():
            per_fold[name].append(value)
    metrics = {
        name: (float(np.nanmean(values)), float(np.nanstd(values)))
        for name, values in per_fold.items()
    }
    return Baseline(metrics, len(folds), time_ordered=times is not None)


def _baseline_sample(frame: pd.DataFrame, profile: Profile, seed: int) -> pd.DataFrame:
    """At most BASELINE_MAX_ROWS rows at random, plus, for classification, enough rows of a
    rare class for every fold to hold one out."""
    if len(frame) <= BASELINE_MAX_ROWS:
        return frame
    sample = frame.sample(BASELINE_MAX_ROWS, random_state=seed)
    if profile.task == "regression":
        return sample
    labels = frame[profile.target]
    parts = [sample]
    for label in labels.unique():
        short = profile.baseline_folds - int((sample[profile.target] == label).sum())
        if short > 0:
            rest = frame[(labels == label) & ~frame.index.isin(sample.index)]
            parts.append(rest.sample(min(short, len(rest)), random_state=seed))
    return pd.concat(parts)


# ---------------------------------------------------------------- writing the project


def _delete_suite(context: Any, name: str) -> None:
    """The suite and the checkpoint and validation definition made for it, where present."""
    for store in (context.checkpoints, context.validation_definitions, context.suites):
        try:
            store.delete(name)
        except Exception:  # noqa: BLE001, S110 - GX raises several types for "not there"
            pass


def write_suite(
    root: Path, name: str, expectations: list[dict[str, Any]], source: str, replaces: str | None
) -> Path:
    """Save the suite with its checkpoint through GX, so gx/ holds what validation reads;
    `replaces` names an earlier drafted suite to remove with its checkpoint."""
    import great_expectations as gx

    from mlops.validation import checkpoint_for

    context = gx.get_context(mode="file", project_root_dir=str(root))
    if context.variables.progress_bars is None:  # a new gx/: no progress bars in CI logs
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        context.variables.save()
    for old in {name, replaces} - {None}:
        _delete_suite(context, old)
    suite = context.suites.add(
        gx.ExpectationSuite(
            name=name,
            expectations=expectations,
            meta={
                "notes": f"{DRAFT_MARK} from {source}: review the ranges, value sets and "
                "missing-value shares, then edit this file directly.",
                "fingerprint": suite_fingerprint(expectations),
            },
        )
    )
    checkpoint_for(context, suite)
    return root / "gx" / "expectations" / f"{name}.json"


@dataclass(frozen=True)
class Draft:
    profile: Profile
    config_path: Path | None
    suite_path: Path
    rules: int
    gate: dict[str, Any] = field(default_factory=dict)
    baseline: Baseline | None = None


def _refuse_unless_draft(path: Path, untouched: bool, force: bool) -> None:
    if path.exists() and not untouched and not force:
        raise PipelineError(
            f"{path.name}: already adapted (written by hand or edited since make adapt drafted "
            "it); nothing was written. Run again with FORCE=1 to replace it"
        )


def _data_inside(root: Path, data: Path) -> str:
    resolved = (root / data).resolve()
    try:
        return resolved.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise PipelineError(
            f"{data}: outside the project; copy it into data/ so that CI sees it too"
        ) from None


def draft_project(
    config_path: Path,
    data: Path,
    target: str,
    task: Task | None = None,
    positive_class: str | None = None,
    force: bool = False,
) -> Draft:
    """Profile the CSV, then write config.yaml and the suite for it (nothing on any error)."""
    from mlops.data import load_dataset

    root = config_path.parent
    relative = _data_inside(root, data)
    frame = load_dataset(root / relative)
    profile = profile_frame(frame, Path(relative), target, task, positive_class)
    suite = slug(Path(relative).stem, "_")
    suite_path = root / "gx" / "expectations" / f"{suite}.json"
    _refuse_unless_draft(config_path, config_is_untouched_draft(config_path), force)
    _refuse_unless_draft(suite_path, suite_is_untouched_draft(suite_path), force)
    previous = _previous_draft_suite(config_path, root)

    baseline = cross_validated_baseline(frame, profile)
    gate = propose_gate(baseline.metrics, profile.shape)
    expectations = draft_expectations(profile)
    text = render_config(profile, relative, suite, gate, baseline)
    write_suite(root, suite, expectations, relative, replaces=previous)
    partial = config_path.with_suffix(".yaml.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(config_path)
    return Draft(profile, config_path, suite_path, len(expectations), gate, baseline)


def _previous_draft_suite(config_path: Path, root: Path) -> str | None:
    """The suite the current config names, if it is an untouched draft (replaced with it)."""
    try:
        name = yaml.safe_load(config_path.read_text(encoding="utf-8"))["data"]["expectation_suite"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
    path = root / "gx" / "expectations" / f"{name}.json"
    return name if suite_is_untouched_draft(path) else None


def redraft_suite(config: Any, force: bool = False) -> Draft:
    """A new suite for the configured data, keeping the config's own column kinds."""
    from mlops.data import load_dataset

    frame = load_dataset(config.data_path, config.data.max_file_mb)
    data = config.data
    kinds = {name: ("left out", "not in the config's feature lists") for name in frame.columns}
    # The split's column, when not a feature: checked for its type and for gaps.
    for kind, name in (("time", config.split.time_column), ("group", config.split.group_column)):
        if name in frame:
            kinds[name] = (kind, f"split.{kind}_column")
    kinds.update({name: ("numeric", "") for name in data.numeric_features if name in frame})
    kinds.update({name: ("categorical", "") for name in data.categorical_features if name in frame})
    missing = [name for name in config.features if name not in frame.columns]
    if missing:
        raise PipelineError(f"{config.data_path}: no column(s) {missing} named in data.*_features")
    relative = Path(config.data.path)
    profile = profile_frame(
        frame, relative, data.target, data.task, data.positive_class, kinds=kinds
    )
    suite_path = config.root / "gx" / "expectations" / f"{data.expectation_suite}.json"
    _refuse_unless_draft(suite_path, suite_is_untouched_draft(suite_path), force)
    expectations = draft_expectations(profile)
    write_suite(config.root, data.expectation_suite, expectations, relative.as_posix(), None)
    return Draft(profile, None, suite_path, len(expectations))


def _classes_in_words(profile: Profile) -> str:
    """ ", positive class '1'" (binary), ", 3 classes, rarest 'CH' (70 rows)" (multiclass)."""
    if profile.shape == "binary":
        return f", positive class {profile.positive_class!r}"
    if profile.shape == "regression":
        return ""
    target = profile.target_column
    return f", {target.distinct} classes: {some(class_names(target.levels))}; " + (
        f"rarest {profile.rarest_class[0]!r} ({profile.rarest_class[1]} rows)"
    )


def describe(draft: Draft) -> str:
    """What was inferred and written, and what a person should review before committing."""
    profile = draft.profile
    lines = [
        f"{profile.path}: {profile.rows} rows, {len(profile.columns)} columns",
        f"target: {profile.target} -> {profile.task}" + _classes_in_words(profile),
        "",
        f"  {'column':<24} {'kind':<12} {'type':<8} {'missing':>8} {'distinct':>9}  note",
    ]
    for column in profile.columns:
        lines.append(
            f"  {column.name[:24]:<24} {column.kind:<12} {column.dtype:<8} "
            f"{column.missing:>8} {column.distinct:>9}  {column.note}"
        )
    if draft.baseline:
        folds = draft.baseline.describe_folds()
        lines += ["", f"cross-validated baseline (linear model, {folds}): "]
        width = max(len(name) for name in draft.baseline.metrics)
        lines += [
            f"  {name:<{width}} {mean:.4f} ± {std:.4f}"
            for name, (mean, std) in draft.baseline.metrics.items()
        ]
        lines += ["proposed gate (a starting point, not a recommendation):"]
        lines += [f"  threshold {k}: {v}" for k, v in draft.gate["thresholds"].items()]
        lines += [f"  tolerance {k}: {v}" for k, v in draft.gate["champion_tolerance"].items()]
    lines += [""]
    if draft.config_path:
        lines.append(f"wrote {draft.config_path.name}")
    lines.append(f"wrote gx/expectations/{draft.suite_path.name} ({draft.rules} expectations)")
    review = [c for c in profile.columns if c.note]
    lines += ["", "review before you commit:"]
    lines += [f"  - {c.name}: {c.note}" for c in review]
    lines += [
        "  - the suite's ranges (observed ± 10% of the span) and value sets: widen what "
        "legitimately varies",
        "  - the gate's thresholds and tolerances: set them from what your users need",
    ]
    if draft.config_path:
        lines.append("  - mlflow.experiment and mlflow.registered_model: the names in the registry")
    lines += ["", "next: make pipeline && make test"]
    return "\n".join(lines)

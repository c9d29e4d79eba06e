"""Load and validate config.yaml, the single source of truth for the pipeline."""

import hashlib
import json
import math
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlops.errors import PipelineError
from mlops.gate import GateSettings, Rule, ThresholdOn
from mlops.metrics import (
    METRICS,
    SHAPE_WORDS,
    TUNABLE_METRICS,
    Shape,
    Task,
    metrics_for,
    shape_of,
)
from mlops.model_code import shipped_code
from mlops.modeling import ModelSettings, build_model

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = REPO_ROOT / "config.yaml"
CONFIG_ENV_VAR = "PIPELINE_CONFIG"
# Fewer resamples make the ends of a 95% percentile interval jump between reruns.
MIN_RESAMPLES = 200


class _Section(BaseModel):
    # Unknown keys are typos until proven otherwise; strict mode refuses "0.8" for 0.8.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _known_metric(name: str) -> str:
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; expected one of {sorted(METRICS)}")
    return name


class DataSection(_Section):
    path: str
    target: str = Field(min_length=1)
    task: Task
    # Classification: the class the binary metrics are about, for a target of two classes;
    # without it, classification is multiclass (metrics averaged over the classes).
    positive_class: str | None = Field(default=None, min_length=1)
    # Classification: more classes than this are refused once the data is read (a target
    # with a class per row is more likely an ID or free text than a label).
    max_classes: int = Field(default=50, ge=2)
    numeric_features: list[str]
    categorical_features: list[str]
    expectation_suite: str = Field(min_length=1)
    # Refuse larger files before reading them, so a wrong file cannot exhaust memory.
    max_file_mb: float = Field(default=500, gt=0)

    @model_validator(mode="after")
    def _features_are_distinct(self) -> "DataSection":
        features = self.numeric_features + self.categorical_features
        if not features:
            raise ValueError("numeric_features and categorical_features are both empty")
        repeated = sorted({name for name in features if features.count(name) > 1})
        if repeated:
            raise ValueError(f"features listed more than once: {repeated}")
        if self.target in features:
            raise ValueError(f"the target {self.target!r} is also listed as a feature")
        if self.task == "regression" and self.positive_class is not None:
            raise ValueError("positive_class is for classification; remove it for regression")
        if self.task == "regression" and "max_classes" in self.model_fields_set:
            raise ValueError("max_classes is for classification; remove it for regression")
        return self


class SplitSection(_Section):
    """How rows are held out, and folded in any inner cross-validation (mlops/splits.py)."""

    test_fraction: float = Field(gt=0, lt=1)
    seed: int = Field(ge=0)
    # Hold out the most recent rows by this column (dates and times, or numbers).
    time_column: str | None = Field(default=None, min_length=1)
    # Keep each group of this column (a customer, a patient) wholly on one side.
    group_column: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_rule(self) -> "SplitSection":
        if self.time_column and self.group_column:
            raise ValueError(
                "time_column and group_column are both set; set one: a "
                "time-ordered split holds out the most recent rows whatever their group, a "
                "grouped one holds out whole groups whatever their time"
            )
        return self


class ErrorCosts(_Section):
    """What each kind of error costs, in any one unit: the threshold that minimises their
    expected total on the training rows' inner folds is chosen."""

    false_positive: float = Field(ge=0)
    false_negative: float = Field(ge=0)

    @model_validator(mode="after")
    def _not_both_zero(self) -> "ErrorCosts":
        if self.false_positive == 0 and self.false_negative == 0:
            raise ValueError("both are 0, so no threshold is better than another")
        return self


class ThresholdTuning(_Section):
    """How the decision threshold is tuned (mlops/decision_threshold.py): toward a metric, or
    toward the least expected cost of the errors."""

    maximize: str | None = None
    costs: ErrorCosts | None = None

    @field_validator("maximize")
    @classmethod
    def _tunable(cls, name: str | None) -> str | None:
        if name is not None and name not in TUNABLE_METRICS:
            raise ValueError(
                f"expected one of {list(TUNABLE_METRICS)}, or costs instead (precision or "
                "recall alone is best at a threshold of 1 or 0; roc_auc and log_loss do not "
                "depend on the threshold)"
            )
        return name

    @model_validator(mode="after")
    def _one_rule(self) -> "ThresholdTuning":
        if (self.maximize is None) == (self.costs is None):
            raise ValueError("set one of maximize (a metric) and costs")
        return self


class ModelSection(_Section):
    # A built-in name, the import path of a scikit-learn-compatible class, or project_model
    # (the project's own module): mlops/modeling.py, docs/configuration.md#model.
    estimator: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    # Sparse one-hot output for the estimator: unset follows the estimator's own tags.
    sparse_input: bool | None = None
    # Types the fitted model holds that skops does not trust by default, each reviewed
    # (docs/security.md#model-files); recorded with every model trained under this list.
    trusted_types: list[str] = Field(default_factory=list)
    # Binary classification: the cut-off on the positive class's probability, a number or a
    # tuning rule; unset: the estimator's own predict.
    decision_threshold: float | ThresholdTuning | None = None

    @field_validator("decision_threshold", mode="wrap")
    @classmethod
    def _threshold_or_rule(cls, value: Any, _handler: Any) -> float | ThresholdTuning | None:
        # Parsed here rather than as a union, so a mistake is named by its own key alone.
        if value is None:
            return None
        if isinstance(value, dict):
            try:
                return ThresholdTuning.model_validate(value)
            except ValidationError as error:
                raise ValueError("; ".join(_describe(item) for item in error.errors())) from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(
                "expected a number between 0 and 1, or a tuning rule: {maximize: f1} or "
                "{costs: {false_positive: 1, false_negative: 5}}"
            )
        if not 0 < value < 1:
            raise ValueError(
                "expected a number between 0 and 1 (exclusive): the threshold is compared with "
                "the positive class's probability"
            )
        return float(value)

    @field_validator("trusted_types")
    @classmethod
    def _dotted_names(cls, names: list[str]) -> list[str]:
        for name in names:
            if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)+", name):
                raise ValueError(f"{name!r} is not a type name such as lightgbm.basic.Booster")
        return names


class GateSection(_Section):
    thresholds: dict[str, float]
    champion_tolerance: dict[str, float] = Field(default_factory=dict)
    # Meanings in mlops/gate.py and docs/gate.md.
    rule: Rule = "non_inferiority"
    threshold_on: ThresholdOn = "value"
    confidence: float = Field(default=0.95, ge=0.5, lt=1)
    # 0 turns the intervals off (only with rule: point and threshold_on: value).
    bootstrap_resamples: int = Field(default=1000, ge=0)

    @model_validator(mode="after")
    def _intervals_when_needed(self) -> "GateSection":
        if self.bootstrap_resamples == 0:
            if self.rule != "point" or self.threshold_on != "value":
                raise ValueError(
                    "bootstrap_resamples is 0, but rule "
                    f"{self.rule!r} / threshold_on {self.threshold_on!r} need intervals; "
                    "use rule: point and threshold_on: value, or 1000 resamples"
                )
        elif self.bootstrap_resamples < MIN_RESAMPLES:
            raise ValueError(
                f"bootstrap_resamples is {self.bootstrap_resamples}; expected 0 (off) or "
                f"at least {MIN_RESAMPLES} for a stable {self.confidence:.0%} interval"
            )
        return self

    def settings(self) -> GateSettings:
        return GateSettings(
            self.rule, self.threshold_on, self.confidence, self.thresholds, self.champion_tolerance
        )

    @field_validator("thresholds")
    @classmethod
    def _thresholds_in_range(cls, thresholds: dict[str, float]) -> dict[str, float]:
        for name, value in thresholds.items():
            metric = METRICS[_known_metric(name)]
            if not (metric.lowest <= value <= metric.highest) or math.isnan(value):
                raise ValueError(
                    f"threshold for {name} is {value}; expected a number from "
                    f"{metric.lowest} to {metric.highest}"
                )
        return thresholds

    @field_validator("champion_tolerance")
    @classmethod
    def _tolerances_non_negative(cls, tolerances: dict[str, float]) -> dict[str, float]:
        for name, value in tolerances.items():
            _known_metric(name)
            if not value >= 0 or math.isinf(value):
                raise ValueError(f"tolerance for {name} is {value}; expected a number >= 0")
        return tolerances


class ReportSection(_Section):
    # Charts as Mermaid in the summary and the comment; false: small tables instead.
    mermaid: bool = True
    # Champion versions in the metric history chart.
    history_versions: int = Field(default=10, ge=0, le=100)


class MonitoringSection(_Section):
    """Drift monitoring of the champion (monitor_model.py; meanings in mlops/drift.py)."""

    # The new batch: a path relative to this file, a glob (the newest match by name), or an
    # http(s) URL; "{date}" becomes today's date (UTC, YYYY-MM-DD). None: pass DATA= instead.
    data: str | None = Field(default=None, min_length=1)
    psi_threshold: float = Field(default=0.2, gt=0)
    test_alpha: float = Field(default=0.01, gt=0, lt=1)
    min_effect: float = Field(default=0.1, gt=0, le=1)
    unseen_threshold: float = Field(default=0.05, gt=0, le=1)
    missing_threshold: float = Field(default=0.1, gt=0, le=1)
    # On drift, the monitor workflow opens (or comments on) an issue; retrain also starts
    # the pipeline workflow on the default branch.
    on_drift: Literal["report", "retrain"] = "report"

    def settings(self) -> Any:
        """The thresholds as mlops.drift takes them."""
        from mlops.drift import DriftSettings

        return DriftSettings(
            psi_threshold=self.psi_threshold,
            test_alpha=self.test_alpha,
            min_effect=self.min_effect,
            unseen_threshold=self.unseen_threshold,
            missing_threshold=self.missing_threshold,
        )


class MlflowSection(_Section):
    experiment: str = Field(min_length=1)
    registered_model: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    champion_alias: str = Field(default="champion", pattern=r"^[A-Za-z_][A-Za-z0-9_-]*$")


class Config(_Section):
    data: DataSection
    split: SplitSection
    model: ModelSection
    metrics: list[str] = Field(min_length=1)
    gate: GateSection
    mlflow: MlflowSection
    report: ReportSection = Field(default_factory=ReportSection)
    monitoring: MonitoringSection = Field(default_factory=MonitoringSection)
    # Where the file was read from; relative paths in it resolve against its folder.
    root: Path = Field(default=REPO_ROOT, exclude=True)
    file: Path = Field(default=DEFAULT_CONFIG, exclude=True)

    @field_validator("metrics")
    @classmethod
    def _known_metrics(cls, names: list[str]) -> list[str]:
        return [_known_metric(name) for name in names]

    @model_validator(mode="after")
    def _fits_the_task(self) -> "Config":
        shape = self.shape
        wrong = [name for name in self.metrics if shape not in METRICS[name].shapes]
        if wrong:
            raise ValueError(
                f"metrics {wrong} do not apply to {SHAPE_WORDS[shape]}; expected some of "
                f"{metrics_for(shape)}"
            )
        if self.model.decision_threshold is not None and shape != "binary":
            raise ValueError(
                "model.decision_threshold: a cut-off on the positive class's probability is "
                f"for binary classification (with data.positive_class); this config is "
                f"{SHAPE_WORDS[shape]}: remove it"
            )
        return self

    @model_validator(mode="after")
    def _split_by_another_column(self) -> "Config":
        for key in ("time_column", "group_column"):
            if getattr(self.split, key) == self.data.target:
                raise ValueError(
                    f"split.{key} is the target {self.data.target!r}; name another column"
                )
        return self

    @model_validator(mode="after")
    def _gate_uses_computed_metrics(self) -> "Config":
        for key in ("thresholds", "champion_tolerance"):
            missing = sorted(set(getattr(self.gate, key)) - set(self.metrics))
            if missing:
                raise ValueError(f"gate.{key} names {missing}, which are not in metrics")
        return self

    @property
    def data_path(self) -> Path:
        return self.root / self.data.path

    @property
    def shape(self) -> Shape:
        """binary (a positive class), multiclass (classification without one) or regression."""
        return shape_of(self.data.task, self.data.positive_class)

    def model_pipeline(self) -> Any:
        """The unfitted scikit-learn pipeline this config describes (mlops/modeling.py);
        raises ValueError naming the model key that is wrong."""
        settings = ModelSettings(
            task=self.data.task,
            numeric_features=list(self.data.numeric_features),
            categorical_features=list(self.data.categorical_features),
            params=dict(self.model.params),
            seed=self.split.seed,
            positive_class=self.data.positive_class,
        )
        return build_model(settings, self.model.estimator, self.model.sparse_input, self.root)

    @property
    def features(self) -> list[str]:
        return self.data.numeric_features + self.data.categorical_features


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if not key:  # a check across sections: its message names the keys
        return message
    if error["type"] == "missing":
        return f"{key}: missing (required)"
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown key"
    got = error.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
    return f"{key}: {message}{shown}"


def resolve_config_path(path: str | Path | None = None) -> Path:
    """The config file to use: the argument, else $PIPELINE_CONFIG, else config.yaml."""
    return Path(path or os.environ.get(CONFIG_ENV_VAR) or DEFAULT_CONFIG).resolve()


def _read_sections(config_path: Path) -> dict[str, Any]:
    """The config file's top-level mapping, or one `PipelineError` saying why there is none."""
    try:
        raw = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{config_path.name}: config file not found at {config_path}") from None
    except OSError as error:  # a folder, a file it may not read
        raise PipelineError(
            f"{config_path.name}: cannot read {config_path}: {error.strerror}"
        ) from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise PipelineError(f"{config_path.name}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise PipelineError(f"{config_path.name}: expected a mapping of sections at the top level")
    return raw


def load_config(path: str | Path | None = None) -> Config:
    """Parse and validate the config file; any problem raises one `PipelineError`."""
    config_path = resolve_config_path(path)
    raw = _read_sections(config_path)
    try:
        config = Config.model_validate({**raw, "root": config_path.parent, "file": config_path})
    except ValidationError as error:
        problems = "\n  ".join(_describe(item) for item in error.errors())
        raise PipelineError(f"{config_path.name}: invalid configuration:\n  {problems}") from None
    if not config.data_path.is_file():
        raise PipelineError(
            f"{config_path.name}: data.path: no file at {config.data_path} "
            "(paths are relative to the config file)"
        )
    # Last, since it imports scikit-learn and the estimator's library (or the project's own
    # module): every other mistake is reported without them.
    try:
        config.model_pipeline()
        shipped_code(config.root)
    except ValueError as error:
        raise PipelineError(f"{config_path.name}: invalid configuration:\n  {error}") from None
    return config


def monitoring_section(path: str | Path | None = None) -> MonitoringSection:
    """The `monitoring` section alone, for what needs no data file and no model (make doctor,
    on a checkout whose data CI fetches). Any problem raises one `PipelineError`."""
    config_path = resolve_config_path(path)
    try:
        return MonitoringSection.model_validate(_read_sections(config_path).get("monitoring") or {})
    except ValidationError as error:
        problems = "\n  ".join(
            _describe({**item, "loc": ("monitoring", *item["loc"])}) for item in error.errors()
        )
        raise PipelineError(f"{config_path.name}: invalid configuration:\n  {problems}") from None


def config_sha256(config: Config) -> str:
    """A digest of the settings (not the file's comments or layout) a model was trained with."""
    canonical = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def gate_at_revision(revision: str, config_path: str | Path | None = None) -> GateSection:
    """The `gate` section of the config file as committed at a git revision (the base branch
    of a pull request). A shallow checkout may lack the commit: it is fetched once from origin.
    Any problem raises one `PipelineError`."""
    path = resolve_config_path(config_path)
    spec = f"{revision}:./{path.name}"

    def show() -> subprocess.CompletedProcess:
        return subprocess.run(
            ["git", "show", spec], cwd=path.parent, capture_output=True, text=True, check=False
        )

    shown = show()
    if shown.returncode != 0:
        try:
            subprocess.run(
                ["git", "fetch", "--quiet", "--no-tags", "--depth=1", "origin", revision],
                cwd=path.parent,
                capture_output=True,
                check=False,
                timeout=60,
            )
        except subprocess.TimeoutExpired:
            pass  # reported below as the revision that could not be read
        shown = show()
    if shown.returncode != 0:
        detail = shown.stderr.strip().splitlines()[-1:] or ["git show failed"]
        raise PipelineError(f"{path.name} at {revision}: could not be read ({detail[0]})")
    try:
        raw = yaml.safe_load(shown.stdout)
        return GateSection.model_validate(raw["gate"])
    except (yaml.YAMLError, TypeError, KeyError) as error:
        raise PipelineError(
            f"{path.name} at {revision}: no readable gate section ({error})"
        ) from None
    except ValidationError as error:
        problems = "; ".join(_describe(item) for item in error.errors())
        raise PipelineError(
            f"{path.name} at {revision}: invalid gate section: {problems}"
        ) from None

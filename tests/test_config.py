"""Config validation: every mistake stops with one message naming the key."""

import copy
from pathlib import Path

import pytest
import yaml

from mlops.config import load_config
from mlops.errors import PipelineError
from tests.conftest import CLASSIFICATION, FIXTURES, MULTICLASS, REGRESSION

VALID = yaml.safe_load((FIXTURES / CLASSIFICATION / "config.yaml").read_text())
VALID_REGRESSION = yaml.safe_load((FIXTURES / REGRESSION / "config.yaml").read_text())
TARGET = VALID["data"]["target"]
NUMERIC = VALID["data"]["numeric_features"][0]
CATEGORY = VALID["data"]["categorical_features"][0]


def write(tmp_path: Path, config: dict) -> Path:
    data = tmp_path / config["data"]["path"]
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("x\n1\n")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def edited(change, base: dict = VALID) -> dict:
    config = copy.deepcopy(base)
    change(config)
    return config


@pytest.mark.parametrize("fixture", [CLASSIFICATION, REGRESSION, MULTICLASS])
def test_fixture_configs_are_valid(fixture):
    config = load_config(FIXTURES / fixture / "config.yaml")
    assert config.data_path.is_file()
    assert config.data.target not in config.features


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda c: c.pop("gate"), "gate: missing (required)"),
        (lambda c: c["data"].pop("target"), "data.target: missing (required)"),
        (
            lambda c: c["split"].update(test_fraction="0.2"),
            "split.test_fraction: Input should be a valid number",
        ),
        (
            lambda c: c["split"].update(test_fraction=1.5),
            "split.test_fraction: Input should be less than 1",
        ),
        (lambda c: c["split"].update(seed=1.5), "split.seed: Input should be a valid integer"),
        (
            lambda c: c["model"].update(estimator="xgboost"),
            "model.estimator: 'xgboost' is neither one of ['linear', 'random_forest', "
            "'hist_gradient_boosting'], nor 'project_model', nor an import path",
        ),
        (
            lambda c: c["model"]["params"].update(depth=3),
            "model.params: LogisticRegression has no parameter(s) ['depth']",
        ),
        (
            lambda c: c["model"]["params"].update(C=-1.0),
            "model.params: The 'C' parameter of LogisticRegression",
        ),
        (lambda c: c.update(metrics=["roc_auc", "gini"]), "metrics: unknown metric 'gini'"),
        (
            lambda c: c["monitoring"].update(psi_threshold=0),
            "monitoring.psi_threshold: Input should be greater than 0",
        ),
        (
            lambda c: c["monitoring"].update(on_drift="page-someone"),
            "monitoring.on_drift: Input should be 'report' or 'retrain'",
        ),
        (lambda c: c["monitoring"].update(dat="x.csv"), "monitoring.dat: unknown key"),
        (
            lambda c: c.update(metrics=[*c["metrics"], "rmse"]),
            "metrics ['rmse'] do not apply to binary classification (with data.positive_class); "
            "expected some of ['roc_auc', 'f1', 'precision', 'recall', 'accuracy', "
            "'balanced_accuracy', 'f1_macro'",
        ),
        (lambda c: c["data"].update(task="ranking"), "data.task: Input should be"),
        (
            # Without a positive class, classification is multiclass: roc_auc, f1 and the
            # fixture's other binary metrics are about a positive class.
            lambda c: c["data"].pop("positive_class"),
            "metrics ['roc_auc', 'f1', 'precision', 'recall'] do not apply to multiclass "
            "classification (no data.positive_class); expected some of ['accuracy', "
            "'balanced_accuracy', 'f1_macro', 'f1_weighted', 'precision_macro', 'recall_macro', "
            "'roc_auc_ovr', 'log_loss']",
        ),
        (lambda c: c["data"].update(max_classes=1), "data.max_classes: Input should be greater"),
        (lambda c: c["data"].update(positive_class=1), "data.positive_class: Input should be"),
        (
            lambda c: c["gate"]["thresholds"].update(roc_auc=1.2),
            "gate.thresholds: threshold for roc_auc is 1.2; expected a number from 0.0 to 1.0",
        ),
        (lambda c: c["gate"]["thresholds"].update(log_loss=-0.1), "threshold for log_loss is -0.1"),
        (
            lambda c: c["gate"]["champion_tolerance"].update(f1=-0.01),
            "gate.champion_tolerance: tolerance for f1 is -0.01; expected a number >= 0",
        ),
        (
            lambda c: c.update(metrics=["f1"]),
            "gate.thresholds names ['roc_auc'], which are not in metrics",
        ),
        (
            lambda c: c.update(report={"history_versions": 500}),
            "report.history_versions: Input should be less than or equal to 100",
        ),
        (lambda c: c.update(report={"mermaid": "yes"}), "report.mermaid: Input should be a valid"),
        (
            lambda c: c["gate"].update(rule="majority"),
            "gate.rule: Input should be 'point', 'non_inferiority' or 'superiority'",
        ),
        (
            lambda c: c["gate"].update(threshold_on="upper_bound"),
            "gate.threshold_on: Input should be 'value' or 'lower_bound'",
        ),
        (
            lambda c: c["gate"].update(confidence=1.0),
            "gate.confidence: Input should be less than 1",
        ),
        (
            lambda c: c["gate"].update(bootstrap_resamples=50),
            "gate: bootstrap_resamples is 50; expected 0 (off) or at least 200",
        ),
        (
            lambda c: c["gate"].update(bootstrap_resamples=0),
            "gate: bootstrap_resamples is 0, but rule 'non_inferiority' / threshold_on 'value' "
            "need intervals",
        ),
        (
            lambda c: c["data"].update(categorical_features=[CATEGORY, TARGET]),
            f"the target {TARGET!r} is also listed as a feature",
        ),
        (
            lambda c: c["data"].update(categorical_features=[CATEGORY, NUMERIC]),
            f"features listed more than once: [{NUMERIC!r}]",
        ),
        (
            lambda c: c["model"].update(decision_threshold=1.5),
            "model.decision_threshold: expected a number between 0 and 1 (exclusive)",
        ),
        (
            lambda c: c["model"].update(decision_threshold=0),
            "model.decision_threshold: expected a number between 0 and 1 (exclusive)",
        ),
        (
            lambda c: c["model"].update(decision_threshold="high"),
            "model.decision_threshold: expected a number between 0 and 1, or a tuning rule",
        ),
        (
            lambda c: c["model"].update(decision_threshold={"maximize": "recall"}),
            "model.decision_threshold: maximize: expected one of ['f1', 'accuracy', "
            "'balanced_accuracy'], or costs",
        ),
        (
            lambda c: c["model"].update(
                decision_threshold={"costs": {"false_positive": -1, "false_negative": 5}}
            ),
            "model.decision_threshold: costs.false_positive: Input should be greater than or "
            "equal to 0 (got -1)",
        ),
        (
            lambda c: c["model"].update(
                decision_threshold={"costs": {"false_positive": 0, "false_negative": 0.0}}
            ),
            "model.decision_threshold: costs: both are 0, so no threshold is better",
        ),
        (
            lambda c: c["model"].update(
                decision_threshold={
                    "maximize": "f1",
                    "costs": {"false_positive": 1, "false_negative": 5},
                }
            ),
            "model.decision_threshold: set one of maximize (a metric) and costs",
        ),
        (lambda c: c["mlflow"].update(registerd_model="x"), "mlflow.registerd_model: unknown key"),
        (
            lambda c: c["mlflow"].update(registered_model="has space"),
            "mlflow.registered_model: String should match pattern",
        ),
    ],
)
def test_invalid_config_names_the_key(tmp_path, change, expected):
    with pytest.raises(PipelineError) as error:
        load_config(write(tmp_path, edited(change)))
    message = str(error.value)
    assert message.startswith("config.yaml: invalid configuration:")
    assert expected in message


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda c: c["data"].update(positive_class="1"),
            "positive_class is for classification; remove it for regression",
        ),
        (
            lambda c: c.update(metrics=["rmse", "roc_auc", "accuracy"]),
            "metrics ['roc_auc', 'accuracy'] do not apply to regression; expected some of "
            "['rmse', 'mae', 'r2']",
        ),
        (
            lambda c: c["data"].update(max_classes=10),
            "max_classes is for classification; remove it for regression",
        ),
        (
            lambda c: c["model"]["params"].update(C=1.0),
            "model.params: Ridge has no parameter(s) ['C']",
        ),
        (lambda c: c["gate"]["thresholds"].update(r2=1.5), "threshold for r2 is 1.5"),
        (lambda c: c["gate"]["thresholds"].update(rmse=-1.0), "threshold for rmse is -1.0"),
        (
            lambda c: c["model"].update(decision_threshold=0.5),
            "model.decision_threshold: a cut-off on the positive class's probability is for "
            "binary classification (with data.positive_class); this config is regression",
        ),
        (
            lambda c: c["model"].update(decision_threshold={"maximize": "f1"}),
            "this config is regression: remove it",
        ),
    ],
)
def test_invalid_regression_config_names_the_key(tmp_path, change, expected):
    with pytest.raises(PipelineError) as error:
        load_config(write(tmp_path, edited(change, VALID_REGRESSION)))
    assert expected in str(error.value)


def test_classification_without_a_positive_class_is_multiclass(tmp_path):
    multiclass = ["accuracy", "balanced_accuracy", "f1_macro", "roc_auc_ovr", "log_loss"]

    def change(c: dict) -> None:
        c["data"].pop("positive_class")
        c["metrics"] = multiclass
        c["gate"] = {"thresholds": {"f1_macro": 0.5}, "champion_tolerance": {"log_loss": 0.05}}

    config = load_config(write(tmp_path, edited(change)))
    assert config.shape == "multiclass" and config.data.max_classes == 50
    assert config.metrics == multiclass
    assert load_config(write(tmp_path, VALID)).shape == "binary"

    def with_a_decision_threshold(c: dict) -> None:
        change(c)
        c["model"]["decision_threshold"] = 0.3

    with pytest.raises(PipelineError, match=r"this config is multiclass classification \(no "):
        load_config(write(tmp_path, edited(with_a_decision_threshold)))


@pytest.mark.parametrize(
    "setting",
    [0.25, 1e-3, {"maximize": "accuracy"}, {"costs": {"false_positive": 0, "false_negative": 5}}],
)
def test_a_decision_threshold_is_a_number_or_one_tuning_rule(tmp_path, setting):
    config = load_config(
        write(tmp_path, edited(lambda c: c["model"].update(decision_threshold=setting)))
    )
    loaded = config.model.decision_threshold
    if isinstance(setting, float):
        assert loaded == setting
    else:
        assert loaded.model_dump(exclude_none=True) == setting


def test_missing_data_file_names_the_key(tmp_path):
    path = write(tmp_path, VALID)
    path.write_text(yaml.safe_dump(edited(lambda c: c["data"].update(path="data/nope.csv"))))
    with pytest.raises(PipelineError, match=r"data\.path: no file at .*nope\.csv"):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(PipelineError, match="config file not found"):
        load_config(tmp_path / "config.yaml")


def test_config_path_that_is_a_folder(tmp_path):
    with pytest.raises(PipelineError, match="cannot read .*: Is a directory"):
        load_config(tmp_path)


def test_config_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("- just\n- a list\n")
    with pytest.raises(PipelineError, match="expected a mapping"):
        load_config(path)


def test_broken_yaml(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("data: [unclosed\n")
    with pytest.raises(PipelineError, match="not valid YAML"):
        load_config(path)

"""Config validation: every mistake stops with one message naming the key."""

import copy
from pathlib import Path

import pytest
import yaml

from mlops.config import load_config
from mlops.errors import PipelineError

REPO = Path(__file__).resolve().parent.parent
VALID = yaml.safe_load((REPO / "config.yaml").read_text())


def write(tmp_path: Path, config: dict) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "data" / "credit.csv").write_text("status\ngood\n")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def edited(change) -> dict:
    config = copy.deepcopy(VALID)
    change(config)
    return config


def test_repository_config_is_valid():
    config = load_config(REPO / "config.yaml")
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
            "model.estimator: unknown estimator 'xgboost'",
        ),
        (
            lambda c: c["model"]["params"].update(depth=3),
            "model: logistic_regression has no parameter(s) ['depth']",
        ),
        (
            lambda c: c["model"]["params"].update(C=-1.0),
            "model: The 'C' parameter of LogisticRegression",
        ),
        (lambda c: c.update(metrics=["roc_auc", "gini"]), "metrics: unknown metric 'gini'"),
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
            "gate.thresholds names ['recall', 'roc_auc'], which are not in metrics",
        ),
        (
            lambda c: c["data"].update(categorical_features=["home", "status"]),
            "the target 'status' is also listed as a feature",
        ),
        (
            lambda c: c["data"].update(categorical_features=["home", "age"]),
            "features listed more than once: ['age']",
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


def test_missing_data_file_names_the_key(tmp_path):
    path = write(tmp_path, edited(lambda c: c["data"].update(path="data/nope.csv")))
    with pytest.raises(PipelineError, match=r"data\.path: no file at .*nope\.csv"):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(PipelineError, match="config file not found"):
        load_config(tmp_path / "config.yaml")


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

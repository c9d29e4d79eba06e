"""The served champion over HTTP, through MLflow's own clients, and batch scoring of a CSV.

The classification champion has a tuned decision threshold, so every client is seen to apply
it (and a candidate with another one is compared with it at its own); one
`mlflow models serve` per task answers every request of the module.
"""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from mlops.config import load_config
from mlops.data import load_dataset
from mlops.registry import download_model, load_sklearn_model
from mlops.scoring import same_values
from mlops.serving import ModelServer, model_server, request_body
from mlops.splits import holdout_split
from tests.conftest import (
    CLASSIFICATION,
    REGRESSION,
    Project,
    clean_env,
    copy_of,
    make_project,
)

pytestmark = pytest.mark.slow
MLFLOW = str(Path(sys.executable).parent / "mlflow")
# MLflow 3.17 loads scikit-learn models (skops files too) only with this set.
ALLOW_LOADING = {"MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}
PROBABILITIES = {"output": "probabilities"}


def deploy(project: Project) -> Project:
    for script in ("train_model.py", "evaluate_model.py", "deploy_model.py"):
        result = project.run(script)
        assert result.returncode == 0, result.stdout + result.stderr
    return project


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Project:
    project = make_project(tmp_path_factory.mktemp("served"), CLASSIFICATION)
    config = project.config()
    config["model"]["decision_threshold"] = {"maximize": "f1"}
    project.write_config(config)
    return deploy(project)


@pytest.fixture(scope="module")
def deployed_regression(tmp_path_factory) -> Project:
    return deploy(make_project(tmp_path_factory.mktemp("served-regression"), REGRESSION))


def champion(project: Project) -> str:
    return f"models:/{project.model_name}@champion"


@pytest.fixture(scope="module")
def served(deployed) -> Iterator[ModelServer]:
    """`mlflow models serve` for the classification champion, in its own process."""
    env = clean_env(MLFLOW_TRACKING_URI=deployed.tracking_uri)
    with model_server(champion(deployed), env=env) as (server, _):
        yield server


def rows_copied_from_the_csv(
    project: Project, destination: Path, count: int = 20, with_gaps: int = 0
) -> Path:
    """Complete rows of the data file, as its text has them, less the target (whole-number
    columns then read as int64 even where training saw gaps, and so float64), then
    `with_gaps` rows that have a gap."""
    text = pd.read_csv(project.data_path, dtype=str, keep_default_na=False)
    complete = (text != "").all(axis=1)
    rows = pd.concat([text[complete].head(count), text[~complete].head(with_gaps)])
    rows.drop(columns=project.target).to_csv(destination, index=False)
    return destination


def champion_model(project: Project):
    mlflow.set_tracking_uri(project.tracking_uri)
    return load_sklearn_model(download_model(champion(project)))


def as_trained(project: Project, rows: pd.DataFrame) -> pd.DataFrame:
    numeric = project.config()["data"]["numeric_features"]
    return rows.astype({name: "float64" for name in numeric})


def split_of(project: Project):
    config = load_config(project.config_path)
    return holdout_split(load_dataset(config.data_path), config)


def features(project: Project) -> pd.DataFrame:
    return pd.read_csv(project.data_path).drop(columns=project.target).head(5)


def mlflow_models_predict(project: Project, source: Path, content_type: str, output: Path):
    result = subprocess.run(
        [MLFLOW, "models", "predict", "-m", champion(project), "-i", str(source)]
        + ["-t", content_type, "-o", str(output), "--env-manager", "local"],
        env=clean_env(MLFLOW_TRACKING_URI=project.tracking_uri, **ALLOW_LOADING),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(output.read_text())["predictions"]


def test_deploy_recorded_the_threshold_and_the_serving_check(deployed):
    check = json.loads((deployed.outputs / "deployment.json").read_text())["serving_check"]
    assert check["rows_checked"] == deployed.holdout_rows()
    assert check["single_row_p50_ms"] > 0 and check["startup_seconds"] > 0
    training = json.loads((deployed.outputs / "training.json").read_text())
    threshold = training["decision_threshold"]
    assert 0 < threshold < 1 and training["decision_threshold_rule"].startswith(
        "tuned to maximise f1"
    )
    mlflow.set_tracking_uri(deployed.tracking_uri)
    params = mlflow.get_run(training["run_id"]).data.params
    assert float(params["model.decision_threshold"]) == threshold
    evaluation = json.loads((deployed.outputs / "evaluation.json").read_text())
    assert evaluation["decision_threshold"] == threshold
    version = mlflow.MlflowClient().get_model_version_by_alias(deployed.model_name, "champion")
    assert float(version.tags["model.decision_threshold"]) == pytest.approx(threshold, rel=1e-5)
    # The label-based metrics were computed from labels at the threshold.
    held_out = pd.read_csv(deployed.outputs / "holdout_predictions.csv")
    positive = held_out["prediction"].astype(str) == deployed.positive_class
    assert (positive == (held_out["probability"] >= threshold)).all()
    report = (deployed.outputs / "evaluation.md").read_text()
    assert f"probability of `{deployed.positive_class}`: candidate {threshold:.4g} (tuned" in report


def test_a_new_threshold_is_compared_with_the_champion_at_its_own(deployed, tmp_path):
    project = copy_of(deployed, tmp_path / "retuned")
    config = project.config()
    config["model"]["decision_threshold"] = 0.5
    project.write_config(config)
    for script in ("train_model.py", "evaluate_model.py"):
        result = project.run(script)
        assert result.returncode == 0, result.stdout + result.stderr
    evaluation = json.loads((project.outputs / "evaluation.json").read_text())
    champions = json.loads((deployed.outputs / "training.json").read_text())["decision_threshold"]
    assert evaluation["decision_threshold"] == 0.5
    assert evaluation["champion"]["decision_threshold"] == champions != 0.5
    # The same estimator on the same rows: equal probabilities, labels cut at two places.
    held_out = pd.read_csv(project.outputs / "holdout_predictions.csv")
    truth = split_of(project).y_test.loc[held_out["row"]].astype(str) == project.positive_class
    for metrics, threshold in (
        (evaluation["metrics"], 0.5),
        (evaluation["champion"]["metrics"], champions),
    ):
        labels = held_out["probability"] >= threshold
        assert metrics["f1"] == pytest.approx(f1_score(truth, labels.to_numpy()))
        assert metrics["roc_auc"] == evaluation["metrics"]["roc_auc"]
    assert evaluation["metrics"]["f1"] != evaluation["champion"]["metrics"]["f1"]
    report = (project.outputs / "evaluation.md").read_text()
    assert (
        f"candidate 0.5 (fixed in model.decision_threshold), champion v1 {champions:.4g};" in report
    )


def test_every_client_and_format_scores_rows_copied_from_the_csv(
    deployed, served, tmp_path, monkeypatch
):
    """REST JSON and CSV, `mlflow models predict` CSV and JSON, pyfunc in process, on rows
    with and without gaps: labels at the model's threshold by default, and with `params` the
    label and each class's probability (docs/serving.md has the table)."""
    rows_file = rows_copied_from_the_csv(deployed, tmp_path / "rows.csv", 300, with_gaps=20)
    rows = pd.read_csv(rows_file)
    assert any(dtype == "int64" for dtype in rows.dtypes)  # what MLflow's schema check refuses
    assert rows.isna().any(axis=1).sum() == 20
    model = champion_model(deployed)
    labels = list(model.predict(as_trained(deployed, rows)))
    probabilities = model.predict_proba(as_trained(deployed, rows))
    expected = pd.DataFrame(probabilities, columns=[f"probability_{c}" for c in model.classes_])
    expected.insert(0, "prediction", labels)
    # The threshold decides some of these rows: a client that ignored it would differ.
    assert (np.asarray(labels) != model.classes_[probabilities.argmax(axis=1)]).any()

    def same(answered: list | pd.DataFrame, wanted: list | pd.DataFrame) -> bool:
        if isinstance(wanted, list):
            return same_values(wanted, answered)
        answered = pd.DataFrame(answered)
        return list(answered.columns) == list(wanted.columns) and all(
            same_values(wanted[column], answered[column]) for column in wanted
        )

    answers = {}
    for name, payload, content_type in (
        ("REST JSON", request_body(rows), "application/json"),
        ("REST JSON with params", request_body(rows, PROBABILITIES), "application/json"),
        ("REST CSV", rows_file.read_bytes(), "text/csv"),
    ):
        status, body = served.post(payload, content_type)
        assert status == 200, (name, body[:300])
        answers[name] = json.loads(body)["predictions"]
    json_file = tmp_path / "rows.json"
    json_file.write_bytes(request_body(rows, PROBABILITIES))
    answers["mlflow models predict -t csv"] = mlflow_models_predict(
        deployed, rows_file, "csv", tmp_path / "csv.json"
    )
    answers["mlflow models predict -t json with params"] = mlflow_models_predict(
        deployed, json_file, "json", tmp_path / "json.json"
    )
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    pyfunc = mlflow.pyfunc.load_model(champion(deployed))
    answers["pyfunc"] = list(pyfunc.predict(rows))
    answers["pyfunc with params"] = pyfunc.predict(rows, params=PROBABILITIES)
    for name, answered in answers.items():
        assert same(answered, expected if "params" in name else labels), name


def test_bad_requests_get_a_readable_4xx(deployed, served):
    rows = features(deployed)
    wrong_type = rows.astype({"age": object})
    wrong_type["age"] = "old"
    for payload, content_type, expected in (
        (
            request_body(rows.drop(columns="female")),
            "application/json",
            "female: missing (the model needs it)",
        ),
        (request_body(wrong_type), "application/json", "age: expected numbers, found e.g. 'old'"),
        (b"{not json", "application/json", "Ensure that input is a valid JSON"),
        (
            request_body(rows, {"output": "probas"}),
            "application/json",
            "params.output: 'probas' is not one of ['prediction', 'probabilities']",
        ),
        (
            wrong_type.to_csv(index=False).encode(),
            "text/csv",
            "age: expected numbers, found e.g. 'old'",
        ),
    ):
        status, body = served.post(payload, content_type)
        assert 400 <= status < 500, (status, body[:200])
        assert expected in json.loads(body)["message"]


def test_served_model_scores_unseen_categories(deployed, served, tmp_path):
    rows = pd.read_csv(rows_copied_from_the_csv(deployed, tmp_path / "rows.csv"))
    for name in deployed.config()["data"]["categorical_features"]:
        rows[name] = "never-seen-in-training"
    status, body = served.post(request_body(rows))
    assert status == 200, body[:300]
    expected = champion_model(deployed).predict(as_trained(deployed, rows))
    assert same_values(list(expected), json.loads(body)["predictions"])


def test_a_regression_model_answers_numbers_through_every_client(
    deployed_regression, tmp_path, monkeypatch
):
    project = deployed_regression
    rows_file = rows_copied_from_the_csv(project, tmp_path / "rows.csv")
    rows = pd.read_csv(rows_file)
    assert any(dtype == "int64" for dtype in rows.dtypes)
    expected = list(champion_model(project).predict(as_trained(project, rows)))
    json_file = tmp_path / "rows.json"
    json_file.write_bytes(request_body(rows))
    for source, content_type in ((rows_file, "csv"), (json_file, "json")):
        predicted = mlflow_models_predict(project, source, content_type, tmp_path / "out.json")
        assert same_values(expected, predicted), content_type
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    assert same_values(expected, list(mlflow.pyfunc.load_model(champion(project)).predict(rows)))
    with model_server(
        champion(project), env=clean_env(MLFLOW_TRACKING_URI=project.tracking_uri)
    ) as (server, _):
        for payload, content_type in (
            (request_body(rows), "application/json"),
            (rows_file.read_bytes(), "text/csv"),
        ):
            status, body = server.post(payload, content_type)
            assert status == 200 and same_values(expected, json.loads(body)["predictions"]), body[
                :300
            ]
        status, body = server.post(request_body(rows, PROBABILITIES))
        assert status == 400 and "'probabilities' is for classifiers" in json.loads(body)["message"]


def test_batch_scoring_writes_predictions_next_to_the_input(deployed):
    applicants = deployed.root / "applicants.csv"
    features(deployed).to_csv(applicants, index=False)
    result = deployed.run("score_batch.py", str(applicants))
    assert result.returncode == 0, result.stderr
    scored = pd.read_csv(deployed.root / "applicants.predictions.csv")
    classes = set(pd.read_csv(deployed.data_path)[deployed.target])
    assert set(scored["prediction"]) <= classes
    probabilities = scored[[f"probability_{label}" for label in sorted(classes)]]
    assert probabilities.sum(axis=1).round(9).eq(1).all()
    threshold = json.loads((deployed.outputs / "training.json").read_text())["decision_threshold"]
    positive = deployed.positive_class
    labelled = scored["prediction"].astype(str) == positive
    assert (labelled == (scored[f"probability_{positive}"] >= threshold)).all()


def test_batch_scoring_refuses_input_that_breaks_the_signature(deployed):
    applicants = deployed.root / "broken.csv"
    rows = features(deployed).drop(columns="educ")
    rows["age"] = "unknown"
    rows.to_csv(applicants, index=False)
    result = deployed.run("score_batch.py", str(applicants))
    assert result.returncode == 2
    assert "does not match the model's input schema" in result.stderr
    assert "educ: missing (the model needs it)" in result.stderr
    assert "age: expected numbers, found e.g. 'unknown'" in result.stderr
    assert "Traceback" not in result.stderr


def test_bundle_holds_the_evaluated_model_where_the_dockerfile_copies_it(deployed):
    result = deployed.run("export_bundle.py")
    assert result.returncode == 0, result.stderr
    bundle = deployed.outputs / "bundle"
    dockerfile = (bundle / "Dockerfile").read_text()
    assert "COPY model_dir /opt/ml/model" in dockerfile
    assert "ENV MLFLOW_ALLOW_PICKLE_DESERIALIZATION=true" in dockerfile
    assert (bundle / "model_dir" / "MLmodel").is_file()
    assert (bundle / "model_dir" / "requirements.txt").is_file()
    # MLflow's clients load it through the interface shipped beside it.
    assert (bundle / "model_dir" / "code" / "pyfunc_model.py").is_file()

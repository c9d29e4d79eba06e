"""The served champion over HTTP, through MLflow's own clients, and batch scoring of a CSV."""

import json
import subprocess
import sys
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from mlops.registry import download_model, load_sklearn_model
from mlops.scoring import same_values
from mlops.serving import model_server, request_body
from tests.conftest import CLASSIFICATION, REGRESSION, Project, clean_env, make_project

pytestmark = pytest.mark.slow
MLFLOW = str(Path(sys.executable).parent / "mlflow")
# MLflow 3.17 loads scikit-learn models (skops files too) only with this set.
ALLOW_LOADING = {"MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}


def deploy(project: Project) -> Project:
    for script in ("train_model.py", "evaluate_model.py", "deploy_model.py"):
        result = project.run(script)
        assert result.returncode == 0, result.stdout + result.stderr
    return project


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Project:
    return deploy(make_project(tmp_path_factory.mktemp("served"), CLASSIFICATION))


@pytest.fixture(scope="module")
def deployed_regression(tmp_path_factory) -> Project:
    return deploy(make_project(tmp_path_factory.mktemp("served-regression"), REGRESSION))


@pytest.fixture(params=["deployed", "deployed_regression"])
def each_task(request) -> Project:
    return request.getfixturevalue(request.param)


def rows_copied_from_the_csv(project: Project, destination: Path, count: int = 20) -> Path:
    """Complete rows of the data file, as its text has them, less the target: whole-number
    columns then read as int64 even where training saw gaps (and so float64)."""
    text = pd.read_csv(project.data_path, dtype=str, keep_default_na=False)
    complete = text[(text != "").all(axis=1)].head(count).drop(columns=project.target)
    complete.to_csv(destination, index=False)
    return destination


def offline_predictions(project: Project, rows: pd.DataFrame) -> list:
    mlflow.set_tracking_uri(project.tracking_uri)
    model = load_sklearn_model(download_model(f"models:/{project.model_name}@champion"))
    numeric = project.config()["data"]["numeric_features"]
    return list(model.predict(rows.astype({name: "float64" for name in numeric})))


def features(project: Project) -> pd.DataFrame:
    return pd.read_csv(project.data_path).drop(columns=project.target).head(5)


def champion(project: Project) -> str:
    return f"models:/{project.model_name}@champion"


def test_deploy_recorded_the_serving_check(deployed):
    check = json.loads((deployed.outputs / "deployment.json").read_text())["serving_check"]
    assert check["rows_checked"] == deployed.holdout_rows()
    assert check["single_row_p50_ms"] > 0 and check["startup_seconds"] > 0


def test_bad_requests_get_a_readable_4xx(deployed, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", deployed.tracking_uri)
    rows = features(deployed)
    wrong_type = rows.astype({"age": object})
    wrong_type["age"] = "old"
    with model_server(champion(deployed)) as (server, _):
        status, body = server.post(request_body(rows))
        assert status == 200 and len(json.loads(body)["predictions"]) == 5
        for payload, expected in (
            (request_body(rows.drop(columns="female")), "Model is missing inputs ['female']"),
            # Numeric columns are declared Any (mlops.scoring.model_signature), so a word
            # there fails in the model rather than in MLflow's schema check: still a 4xx.
            (request_body(wrong_type), "Encountered an unexpected error"),
            (b"{not json", "Ensure that input is a valid JSON"),
        ):
            status, body = server.post(payload)
            assert 400 <= status < 500, (status, body[:200])
            assert expected in json.loads(body)["message"]


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


def test_mlflow_models_predict_scores_integer_valued_csv_and_json(each_task, tmp_path):
    project = each_task
    rows_file = rows_copied_from_the_csv(project, tmp_path / "rows.csv")
    rows = pd.read_csv(rows_file)
    assert any(dtype == "int64" for dtype in rows.dtypes)  # the case MLflow used to refuse
    json_file = tmp_path / "rows.json"
    json_file.write_bytes(request_body(rows))
    expected = offline_predictions(project, rows)
    for source, content_type in ((rows_file, "csv"), (json_file, "json")):
        output = tmp_path / f"predictions-{content_type}.json"
        result = subprocess.run(
            [MLFLOW, "models", "predict", "-m", champion(project), "-i", str(source)]
            + ["-t", content_type, "-o", str(output), "--env-manager", "local"],
            env=clean_env(MLFLOW_TRACKING_URI=project.tracking_uri, **ALLOW_LOADING),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        predicted = json.loads(output.read_text())["predictions"]
        assert same_values(expected, predicted), (content_type, predicted)


def test_pyfunc_scores_integer_valued_rows(each_task, tmp_path, monkeypatch):
    project = each_task
    rows = pd.read_csv(rows_copied_from_the_csv(project, tmp_path / "rows.csv"))
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    mlflow.set_tracking_uri(project.tracking_uri)
    predicted = mlflow.pyfunc.load_model(champion(project)).predict(rows)
    assert same_values(offline_predictions(project, rows), list(predicted))


def test_served_model_scores_integer_json_and_unseen_categories(each_task, tmp_path, monkeypatch):
    project = each_task
    monkeypatch.setenv("MLFLOW_TRACKING_URI", project.tracking_uri)
    rows = pd.read_csv(rows_copied_from_the_csv(project, tmp_path / "rows.csv"))
    unseen = rows.copy()
    for name in project.config()["data"]["categorical_features"]:
        unseen[name] = "never-seen-in-training"
    with model_server(champion(project)) as (server, _):
        for frame in (rows, unseen):
            status, body = server.post(request_body(frame))
            assert status == 200, body[:300]
            assert len(json.loads(body)["predictions"]) == len(frame)
        status, body = server.post(request_body(rows))
        assert same_values(offline_predictions(project, rows), json.loads(body)["predictions"])

"""The served champion over HTTP, and batch scoring of a CSV file."""

import json

import pandas as pd
import pytest

from mlops.serving import model_server, request_body
from tests.conftest import Project, make_project

pytestmark = pytest.mark.slow
CHAMPION = "models:/credit-risk-classifier@champion"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Project:
    project = make_project(tmp_path_factory.mktemp("served"))
    for script in ("train_model.py", "evaluate_model.py", "deploy_model.py"):
        result = project.run(script)
        assert result.returncode == 0, result.stdout + result.stderr
    return project


def features(project: Project) -> pd.DataFrame:
    return pd.read_csv(project.root / "data" / "credit.csv").drop(columns="status").head(5)


def test_deploy_recorded_the_serving_check(deployed):
    check = json.loads((deployed.outputs / "deployment.json").read_text())["serving_check"]
    assert check["rows_checked"] == 891
    assert check["single_row_p50_ms"] > 0 and check["startup_seconds"] > 0


def test_bad_requests_get_a_readable_4xx(deployed, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", deployed.tracking_uri)
    rows = features(deployed)
    wrong_type = rows.astype({"age": object})
    wrong_type["age"] = "old"
    with model_server(CHAMPION) as (server, _):
        status, body = server.post(request_body(rows))
        assert status == 200 and len(json.loads(body)["predictions"]) == 5
        for payload, expected in (
            (request_body(rows.drop(columns="age")), "Model is missing inputs ['age']"),
            (request_body(wrong_type), "Failed to convert column age"),
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
    assert set(scored["prediction"]) <= {"good", "bad"}
    assert (scored["probability_bad"] + scored["probability_good"]).round(9).eq(1).all()


def test_batch_scoring_refuses_input_that_breaks_the_signature(deployed):
    applicants = deployed.root / "broken.csv"
    rows = features(deployed).drop(columns="price")
    rows["age"] = "unknown"
    rows.to_csv(applicants, index=False)
    result = deployed.run("score_batch.py", str(applicants))
    assert result.returncode == 2
    assert "does not match the input schema" in result.stderr
    assert "price: missing (the model needs it)" in result.stderr
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

"""Three classes, one of them rare, end to end on the hawk species fixture: `make adapt` drafts
the project from the CSV alone, the pipeline deploys it with a per-class report, every MLflow
client and batch scoring return the species, monitoring follows the predicted classes, and a
champion trained on other classes is compared as docs/gate.md says. One pipeline run serves
every test here (copies for those that change the project)."""

import json
import shutil
import subprocess

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from mlops.adapt import suite_fingerprint
from mlops.registry import download_model, load_sklearn_model
from mlops.scoring import same_values
from mlops.serving import model_server, request_body
from tests.conftest import FIXTURES, MULTICLASS, Project, clean_env, copy_of, rewrite_data
from tests.test_pipeline import run_ok
from tests.test_serving import ALLOW_LOADING, MLFLOW, champion

pytestmark = pytest.mark.slow

FIXTURE = FIXTURES / MULTICLASS
SPECIES = ["CH", "RT", "SS"]
RARE = "CH"  # Cooper's hawk: 70 of the 908 birds


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Project:
    """make adapt on the CSV alone, the review a user makes, then make pipeline."""
    project = Project(tmp_path_factory.mktemp("hawks"))
    shutil.copytree(FIXTURE / "data", project.root / "data")
    described = run_ok(
        project, "adapt_project.py", "--data", "data/hawk_species.csv", "--target", "Species"
    )
    assert "-> classification, 3 classes: CH, RT, SS; rarest 'CH' (70 rows)" in described
    # The draft is the committed fixture project, setting for setting and rule for rule.
    assert project.config() == yaml.safe_load((FIXTURE / "config.yaml").read_text())
    drafted, committed = (
        json.loads(path.read_text())["expectations"]
        for path in (project.suite_path, FIXTURE / "gx" / "expectations" / "hawk_species.json")
    )
    assert suite_fingerprint(drafted) == suite_fingerprint(committed)
    # The review: thresholds from what the users need. The drafted ones sit two fold-to-fold
    # standard deviations under the baseline, and this split's 14 rare birds fall just short.
    config = project.config()
    config["gate"]["thresholds"] = {"f1_macro": 0.85, "balanced_accuracy": 0.8}
    project.write_config(config)
    run_ok(project, "run_pipeline.py")
    assert (project.outputs / "deployment.json").is_file()
    return project


def evaluation_of(project: Project) -> dict:
    return json.loads((project.outputs / "evaluation.json").read_text())


def test_the_pipeline_reports_each_class_and_deploys(deployed):
    evaluation = evaluation_of(deployed)
    assert evaluation["deploy"] and evaluation["positive_class"] is None
    classes = evaluation["classes"]
    assert classes["names"] == SPECIES and sum(classes["support"]) == deployed.holdout_rows()
    assert classes["support"][SPECIES.index(RARE)] == 14  # stratified: 20% of the rare class
    assert set(evaluation["metrics"]) == set(deployed.config()["metrics"])
    assert all(value is not None for value in evaluation["metrics"].values())
    assert [chart["name"] for chart in evaluation["charts"]] == ["feature_importance"]
    report = (deployed.outputs / "evaluation.md").read_text()
    assert "### Classes" in report and "| true class | CH | RT | SS |" in report
    predictions = pd.read_csv(deployed.outputs / "holdout_predictions.csv", index_col="row")
    assert list(predictions.columns) == ["prediction", *(f"probability_{s}" for s in SPECIES)]
    client = MlflowClient(deployed.tracking_uri)
    version = client.get_model_version_by_alias(deployed.model_name, "champion")
    assert float(version.tags["metric.f1_macro"]) == pytest.approx(
        evaluation["metrics"]["f1_macro"]
    )
    artifacts = {a.path for a in client.list_artifacts(evaluation["run_id"], "evaluation")}
    assert "evaluation/confusion_matrix.png" in artifacts


def test_every_client_returns_the_species(deployed, tmp_path, monkeypatch):
    """mlflow models serve (JSON, CSV, and JSON asking for probabilities), mlflow models
    predict, pyfunc (with and without params) and score_batch.py."""
    rows = pd.read_csv(deployed.data_path).drop(columns="Species").sample(40, random_state=1)
    rows.to_csv(tmp_path / "birds.csv", index=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", deployed.tracking_uri)
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    mlflow.set_tracking_uri(deployed.tracking_uri)
    model = load_sklearn_model(download_model(champion(deployed)))
    numeric = deployed.config()["data"]["numeric_features"]
    expected = list(model.predict(rows.astype({name: "float64" for name in numeric})))
    assert set(expected) <= set(SPECIES) and len(set(expected)) == 3

    probabilities = model.predict_proba(rows.astype({name: "float64" for name in numeric}))
    with model_server(champion(deployed)) as (server, _):
        status, body = server.post(request_body(rows))
        assert status == 200 and json.loads(body)["predictions"] == expected
        status, body = server.post((tmp_path / "birds.csv").read_bytes(), "text/csv")
        assert status == 200 and json.loads(body)["predictions"] == expected
        # On request, the species and every species' probability (docs/serving.md).
        status, body = server.post(request_body(rows, {"output": "probabilities"}))
    answered = pd.DataFrame(json.loads(body)["predictions"])
    assert status == 200 and list(answered.columns) == [
        "prediction",
        *(f"probability_{species}" for species in model.classes_),
    ]
    assert list(answered["prediction"]) == expected
    assert np.allclose(answered.drop(columns="prediction").to_numpy(), probabilities)

    (tmp_path / "birds.json").write_bytes(request_body(rows))
    predicted = subprocess.run(
        [MLFLOW, "models", "predict", "-m", champion(deployed), "-i", str(tmp_path / "birds.json")]
        + ["-t", "json", "-o", str(tmp_path / "out.json"), "--env-manager", "local"],
        env=clean_env(MLFLOW_TRACKING_URI=deployed.tracking_uri, **ALLOW_LOADING),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert json.loads((tmp_path / "out.json").read_text())["predictions"] == expected

    pyfunc = mlflow.pyfunc.load_model(champion(deployed))
    assert same_values(expected, list(pyfunc.predict(rows)))
    in_process = pyfunc.predict(rows, params={"output": "probabilities"})
    assert np.allclose(in_process.drop(columns="prediction").to_numpy(), probabilities)

    run_ok(deployed, "score_batch.py", str(tmp_path / "birds.csv"))
    scored = pd.read_csv(tmp_path / "birds.predictions.csv")
    assert list(scored["prediction"]) == expected
    probabilities = scored[[f"probability_{species}" for species in SPECIES]]
    assert probabilities.sum(axis=1).round(9).eq(1).all()
    assert (probabilities.idxmax(axis=1).str.removeprefix("probability_") == expected).all()


def test_monitoring_follows_the_predicted_classes_and_names_an_unseen_one(deployed, tmp_path):
    project = copy_of(deployed, tmp_path)
    batch = pd.read_csv(project.data_path).sample(300, random_state=3)
    batch.loc[batch.index[:30], "Species"] = "GE"  # a golden eagle: labelled, never trained on
    batch.to_csv(project.root / "data" / "labelled.csv", index=False)
    result = project.run("monitor_model.py", "--data", "data/labelled.csv")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    drift = json.loads((project.outputs / "drift.json").read_text())
    assert drift["prediction"]["kind"] == "categorical"
    assert drift["target"]["name"] == "Species (target)" and drift["target"]["drifted"]
    assert drift["target"]["unseen"]["examples"] == ["GE"]
    report = (project.outputs / "drift.md").read_text()
    assert "| Species (target) | categorical | ⚠️ yes |" in report
    assert "10.0% of rows hold classes never seen in training (e.g. 'GE')" in report


def test_a_champion_that_knew_a_class_since_removed_is_compared_on_the_same_rows(
    deployed, tmp_path
):
    """The rare species leaves the data: the new model knows two classes, the champion three.
    The champion still scores on every held-out row; what it predicts of the removed class
    counts against it, and the report says so."""
    project = copy_of(deployed, tmp_path)
    rewrite_data(project, lambda lines: [line for line in lines if f",{RARE}," not in line])
    run_ok(project, "train_model.py")
    run_ok(project, "evaluate_model.py")
    evaluation = evaluation_of(project)
    classes = evaluation["classes"]
    assert classes["names"] == SPECIES and classes["support"][SPECIES.index(RARE)] == 0
    assert (classes["added"], classes["removed"], classes["not_compared"]) == ([], [RARE], [])
    assert classes["not_held_out"] == [RARE]
    assert all(value is not None for value in evaluation["champion"]["metrics"].values())
    report = (project.outputs / "evaluation.md").read_text()
    assert f"The champion v1 was trained on other classes: '{RARE}' removed since" in report
    assert f"No held-out row has class '{RARE}'" in report


def test_a_class_added_since_the_champion_is_its_error_and_the_candidate_deploys(
    deployed, tmp_path
):
    """The champion was deployed before the rare species was in the data; the candidate
    knows it. The champion scores every held-out row, the rare birds as its errors; the
    metrics that need its probability of the new class are not compared; the report says so,
    and the candidate that beats it deploys."""
    project = copy_of(deployed, tmp_path)
    for store in ("mlflow.db", "mlartifacts", "outputs"):
        shutil.rmtree(project.root / store, ignore_errors=True)
        (project.root / store).unlink(missing_ok=True)
    full = project.data_path.read_text()
    rewrite_data(project, lambda lines: [line for line in lines if f",{RARE}," not in line])
    for script in ("train_model.py", "evaluate_model.py", "deploy_model.py"):
        run_ok(project, script)  # the suite of those days would have named two species
    assert evaluation_of(project)["classes"]["names"] == [s for s in SPECIES if s != RARE]
    project.data_path.write_text(full)
    run_ok(project, "train_model.py")
    run_ok(project, "evaluate_model.py")
    evaluation = evaluation_of(project)
    classes = evaluation["classes"]
    assert classes["names"] == SPECIES and classes["support"][SPECIES.index(RARE)] == 14
    assert (classes["added"], classes["removed"]) == ([RARE], [])
    assert set(classes["not_compared"]) == {"roc_auc_ovr", "log_loss"}
    champion = evaluation["champion"]["metrics"]
    assert champion["roc_auc_ovr"] is None and champion["f1_macro"] is not None
    # The champion never predicts the rare species: every one of its 14 rows is its error.
    assert classes["champion"]["recall"][SPECIES.index(RARE)] == 0
    verdicts = {check["metric"]: check["verdict"] for check in evaluation["checks"]}
    assert verdicts["balanced_accuracy"] == "better", verdicts
    report = (project.outputs / "evaluation.md").read_text()
    assert f"The champion v1 was trained on other classes: '{RARE}' added since" in report
    assert "roc_auc_ovr, log_loss: not compared with the champion" in report
    assert evaluation["deploy"], evaluation["reasons"]
    run_ok(project, "deploy_model.py")
    client = MlflowClient(project.tracking_uri)
    assert str(client.get_model_version_by_alias(project.model_name, "champion").version) == "2"


def test_a_class_of_one_row_stops_the_pipeline_and_keeps_the_champion(deployed, tmp_path):
    project = copy_of(deployed, tmp_path)
    kept = {"rare": 0}

    def one_rare_bird(lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            if f",{RARE}," in line:
                kept["rare"] += 1
                if kept["rare"] > 1:
                    continue
            out.append(line)
        return out

    rewrite_data(project, one_rare_bird)
    client = MlflowClient(project.tracking_uri)
    runs = len(client.search_runs([client.get_experiment_by_name("hawk-species").experiment_id]))
    result = project.run("run_pipeline.py")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.count("error:") == 1
    assert "has a single row of class(es) 'CH'; every class needs at least 2 rows" in (
        result.stderr
    )
    assert client.get_model_version_by_alias(project.model_name, "champion").version == 1
    experiment = client.get_experiment_by_name("hawk-species").experiment_id
    assert len(client.search_runs([experiment])) == runs

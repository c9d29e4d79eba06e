"""The real scripts on fixture projects' data with a real (temporary) MLflow store."""

import json
import re
import subprocess

import mlflow
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from mlops.metrics import metrics_for, shape_of
from mlops.modeling import ESTIMATOR_NAMES
from tests.conftest import (
    CLASSIFICATION,
    REGRESSION,
    Project,
    copy_of,
    make_project,
    rewrite_data,
)

pytestmark = pytest.mark.slow

EVALUATION_KEYS = {
    "run_id",
    "model_uri",
    "model_sha256",
    "data_sha256",
    "registered_model",
    "holdout_rows",
    "split",
    "resampling",
    "task",
    "main_metric",
    "positive_class",
    "classes",
    "decision_threshold",
    "decision_threshold_rule",
    "metrics",
    "thresholds",
    "champion_tolerance",
    "gate",
    "gate_changes",
    "champion",
    "decision",
    "deploy",
    "pull_request",
    "summary",
    "reasons",
    "checks",
    "charts",
    "mermaid",
    "links",
    "tracking_store",
    "predictions_file",
    "predictions_sha256",
}


def run_ok(project: Project, script: str, *args: str) -> str:
    result = project.run(script, *args)
    assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def deployed(tmp_path_factory) -> Project:
    """One full pipeline run: validate → train → evaluate → deploy."""
    project = make_project(tmp_path_factory.mktemp("deployed"))
    for script in ("validate_data.py", "train_model.py", "evaluate_model.py", "deploy_model.py"):
        run_ok(project, script)
    return project


@pytest.fixture
def client(deployed: Project) -> MlflowClient:
    mlflow.set_tracking_uri(deployed.tracking_uri)
    return MlflowClient(deployed.tracking_uri)


def test_training_run_is_fully_logged(deployed, client):
    training = json.loads((deployed.outputs / "training.json").read_text())
    run = client.get_run(training["run_id"])
    config = deployed.config()
    assert run.data.params["model.estimator"] == config["model"]["estimator"]
    for name, value in config["model"]["params"].items():
        assert run.data.params[f"model.{name}"] == str(value)
    assert run.data.params["split.seed"] == str(config["split"]["seed"])
    assert run.data.params["data.task"] == "classification"
    assert run.data.metrics["fit_time_seconds"] > 0
    assert run.data.metrics["test_roc_auc"] >= config["gate"]["thresholds"]["roc_auc"]
    assert {"git.commit", "git.branch", "data.sha256"} <= set(run.data.tags)
    assert run.data.tags["gate.decision"] == "passed"
    inputs = {i.tags[0].value: i.dataset for i in run.inputs.dataset_inputs}
    assert set(inputs) == {"training", "evaluation"}
    assert inputs["training"].digest == training["dataset_digest"]
    assert json.loads(inputs["evaluation"].profile)["num_rows"] == deployed.holdout_rows()
    assert run.data.params["model.decision_threshold"] == "none"  # the fixture sets none
    model = mlflow.models.get_model_info(training["model_uri"])
    assert model.saved_input_example_info is not None
    assert model.flavors["sklearn"]["serialization_format"] == "skops"
    # MLflow's clients load it through the project's interface, which reads `output`.
    assert model.flavors["python_function"]["loader_module"] == "pyfunc_model"
    assert [param.name for param in model.signature.params.params] == ["output"]
    assert (
        model.metadata["features"]
        == config["data"]["numeric_features"] + config["data"]["categorical_features"]
    )
    artifacts = {a.path for a in client.list_artifacts(training["run_id"], "evaluation")}
    assert {
        "evaluation/confusion_matrix.png",
        "evaluation/roc_curve.png",
        "evaluation/evaluation.json",
    } <= artifacts


def test_evaluation_file_schema(deployed):
    evaluation = json.loads((deployed.outputs / "evaluation.json").read_text())
    assert set(evaluation) == EVALUATION_KEYS
    assert evaluation["decision"] == "passed" and evaluation["deploy"] is True
    assert set(evaluation["metrics"]) == set(deployed.config()["metrics"])
    assert evaluation["champion"] is None
    assert evaluation["holdout_rows"] == deployed.holdout_rows()
    rows = sum(1 for _ in deployed.data_path.open()) - 1
    assert evaluation["split"] == {  # the fixture's split is random, stratified on the target
        "rule": "random",
        "stratified": evaluation["task"] == "classification",
        "training": {"rows": rows - evaluation["holdout_rows"]},
        "evaluation": {"rows": evaluation["holdout_rows"]},
    }
    assert evaluation["resampling"] == {"by": "rows", "shortfall": None}
    predictions = pd.read_csv(deployed.outputs / "holdout_predictions.csv")
    assert len(predictions) == evaluation["holdout_rows"]
    report = (deployed.outputs / "evaluation.md").read_text()
    assert "Gate passed" in report and "Held out:" not in report  # a random split needs no words


def test_champion_alias_points_to_verified_version(deployed, client):
    version = client.get_model_version_by_alias(deployed.model_name, "champion")
    evaluation = json.loads((deployed.outputs / "evaluation.json").read_text())
    assert version.run_id == evaluation["run_id"]
    assert version.tags["model.sha256"] == evaluation["model_sha256"]
    assert version.tags["previous_champion_version"] == "none"
    for metric, value in evaluation["metrics"].items():
        assert float(version.tags[f"metric.{metric}"]) == pytest.approx(value)
    deployment = json.loads((deployed.outputs / "deployment.json").read_text())
    assert deployment["version"] == str(version.version)


def test_retrained_model_is_compared_with_champion_and_promoted(deployed, tmp_path):
    project = copy_of(deployed, tmp_path)
    run_ok(project, "train_model.py")
    report = run_ok(project, "evaluate_model.py")
    assert "champion v1" in report
    evaluation = json.loads((project.outputs / "evaluation.json").read_text())
    assert evaluation["champion"]["version"] == "1"
    assert evaluation["champion"]["metrics"]["roc_auc"] == pytest.approx(
        evaluation["metrics"]["roc_auc"]
    )
    name = project.model_name
    assert f"deployed {name} version 2" in run_ok(project, "deploy_model.py")
    client = MlflowClient(project.tracking_uri)
    assert client.get_model_version_by_alias(name, "champion").version == 2
    assert client.get_model_version_by_alias(name, "previous_champion").version == 1

    assert "already @champion; nothing to do" in run_ok(project, "deploy_model.py")
    assert "version 2 -> 1" in run_ok(project, "deploy_model.py", "--rollback")
    assert "nothing to do" in run_ok(project, "deploy_model.py", "--rollback")  # idempotent
    assert client.get_model_version_by_alias(name, "champion").version == 1
    unknown = project.run("deploy_model.py", "--rollback", "--to-version", "99")
    assert unknown.returncode == 3 and "has no version '99' (versions: [1, 2])" in unknown.stderr
    assert "version 1 -> 2" in run_ok(project, "deploy_model.py", "--rollback", "--to-version", "2")

    # A candidate on fewer columns is still compared: the champion takes the columns it knows.
    config = project.config()
    config["data"]["numeric_features"] = config["data"]["numeric_features"][1:]
    project.write_config(config)
    run_ok(project, "train_model.py")
    run_ok(project, "evaluate_model.py")
    evaluation = json.loads((project.outputs / "evaluation.json").read_text())
    assert evaluation["champion"]["version"] == "2", evaluation["reasons"]
    assert evaluation["champion"]["metrics"]["roc_auc"] is not None, evaluation["reasons"]


def test_a_champion_whose_files_changed_is_not_scored_and_nothing_deploys(deployed, tmp_path):
    """The trust list inside a model's files loads it: evaluation loads the champion only
    when its files are the ones recorded at deploy."""
    project = copy_of(deployed, tmp_path)
    (mlmodel,) = project.root.glob("mlartifacts/**/MLmodel")  # the champion's, before retraining
    mlmodel.write_text(mlmodel.read_text() + "# edited after deploy\n")
    run_ok(project, "train_model.py")
    run_ok(project, "evaluate_model.py")
    evaluation = json.loads((project.outputs / "evaluation.json").read_text())
    assert evaluation["decision"] == "rejected"
    assert "model files differ from the ones recorded at deploy" in evaluation["reasons"][0]
    refused = project.run("deploy_model.py")
    assert refused.returncode == 3 and "the gate did not pass" in refused.stderr


def test_evaluation_reports_paired_intervals_reproducibly(deployed, tmp_path):
    project = copy_of(deployed, tmp_path)
    run_ok(project, "train_model.py")
    report = run_ok(project, "evaluate_model.py")
    first = json.loads((project.outputs / "evaluation.json").read_text())
    assert first["gate"] == {
        "rule": "non_inferiority",
        "threshold_on": "value",
        "confidence": 0.95,
        "bootstrap_resamples": 1000,
        "seed": project.config()["split"]["seed"],
    }
    for check in first["checks"]:
        low, high = check["interval"]["low"], check["interval"]["high"]
        assert low <= check["value"] <= high and low < high, check
        # The same model on the same rows: the paired difference is exactly zero.
        assert check["delta_interval"] == {"low": 0.0, "high": 0.0}, check
        assert check["verdict"] == "no detectable difference"
    assert first["summary"].startswith("Deploy: every threshold holds")
    # The terminal gets the decision, the table and the charts' files, not the markdown.
    assert re.search(
        r"^Gate passed: deploy\. roc_auc 0\.\d+, 0\.0000 against champion v1: within noise\.$",
        report,
        re.M,
    ), report
    assert re.search(
        r"\nmetric +candidate \(95% interval\) +champion v1 +candidate − champion", report
    )
    assert "```" not in report and "|" not in report
    markdown = (project.outputs / "evaluation.md").read_text()
    assert "| metric | candidate (95% interval) | champion v1 |" in markdown

    client = MlflowClient(project.tracking_uri)
    run = client.get_run(first["run_id"])
    roc_auc = next(c for c in first["checks"] if c["metric"] == "roc_auc")
    assert run.data.metrics["test_roc_auc_low"] == pytest.approx(roc_auc["interval"]["low"])
    assert run.data.metrics["delta_roc_auc_high"] == 0.0

    # The same charts in the summary (Mermaid), in MLflow and beside evaluation.json (PNG).
    names = [chart["name"] for chart in first["charts"]]
    assert names == ["roc_curve", "precision_recall_curve", "metric_history", "feature_importance"]
    assert markdown.count("```mermaid") == 4 and "orange: champion v1" in markdown
    pngs = ", ".join(f"outputs/{name}.png" for name in [*names, "confusion_matrix"])
    assert f"charts (PNG): {pngs}" in report
    history = first["charts"][2]
    assert history["x"] == ["v1", "candidate"]
    logged = {a.path for a in client.list_artifacts(first["run_id"], "evaluation")}
    for name in [*names, "confusion_matrix"]:
        assert f"evaluation/{name}.png" in logged and (project.outputs / f"{name}.png").is_file()

    run_ok(project, "evaluate_model.py")  # seeded: the same numbers again
    again = json.loads((project.outputs / "evaluation.json").read_text())
    assert again["checks"] == first["checks"]


def test_pull_request_that_loosens_the_gate_is_flagged(deployed, tmp_path):
    project = copy_of(deployed, tmp_path)
    git = lambda *args: subprocess.run(  # noqa: E731
        ["git", *args], cwd=project.root, check=True, capture_output=True, text=True
    )
    git("init", "-q")
    git("add", project.config_path.name)
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "base")
    config = project.config()
    config["gate"]["thresholds"]["roc_auc"] -= 0.1
    config["gate"]["champion_tolerance"].pop("f1")
    config["gate"]["confidence"] = 0.99  # a wider interval forgives more under non_inferiority
    project.write_config(config)

    report = run_ok(project, "evaluate_model.py", "--base-ref", "HEAD")
    changes = json.loads((project.outputs / "evaluation.json").read_text())["gate_changes"]
    assert changes["base_ref"] == "HEAD" and "error" not in changes
    assert [line.split(" ")[0] for line in changes["loosened"]] == [
        "gate.thresholds.roc_auc",
        "gate.champion_tolerance.f1",
        "gate.confidence",
    ]
    lines = report.splitlines()
    warning = "warning: This pull request loosens the gate (compared with the base branch):"
    assert lines[lines.index(warning) + 1].startswith("- gate.thresholds.roc_auc lowered from 0.")
    markdown = (project.outputs / "evaluation.md").read_text().splitlines()
    assert (
        markdown[1] == "⚠️ **This pull request loosens the gate** (compared with the base branch):"
    )

    unknown = run_ok(project, "evaluate_model.py", "--base-ref", "0" * 40)
    assert (
        "warning: The gate could not be compared with the base branch's: config.yaml at 0000"
        in (unknown)
    )


def test_threshold_above_reach_rejects_and_registry_is_untouched(deployed, tmp_path):
    project = copy_of(deployed, tmp_path)
    config = project.config()
    config["gate"]["thresholds"]["roc_auc"] = 0.99
    project.write_config(config)
    report = run_ok(project, "evaluate_model.py")  # a failed gate is not a crash
    assert "Gate failed" in report
    evaluation = json.loads((project.outputs / "evaluation.json").read_text())
    assert evaluation["decision"] == "rejected" and evaluation["deploy"] is False
    roc_auc = evaluation["metrics"]["roc_auc"]
    assert f"roc_auc is {roc_auc:.4f}, minimum allowed is 0.9900" in evaluation["reasons"]

    refused = project.run("deploy_model.py")
    assert refused.returncode == 3
    assert "deploy refused: the gate did not pass" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert registered_versions(project) == ["1"]

    skipped = project.run("deploy_model.py", "--skip-if-rejected")
    assert skipped.returncode == 0 and "not deployed" in skipped.stdout


def test_deploy_refuses_evaluation_of_another_run(deployed, tmp_path):
    project = copy_of(deployed, tmp_path)
    run_ok(project, "train_model.py")  # a newer training run the evaluation does not cover
    refused = project.run("deploy_model.py")
    assert refused.returncode == 3
    assert "run evaluate_model.py again" in refused.stderr
    assert registered_versions(project) == ["1"]


def registered_versions(project: Project) -> list[str]:
    client = MlflowClient(project.tracking_uri)
    return sorted(
        str(v.version) for v in client.search_model_versions(f"name = '{project.model_name}'")
    )


def test_deploy_without_evaluation_says_what_to_run(project):
    result = project.run("deploy_model.py")
    assert result.returncode == 2
    assert "training.json: not found; run train_model.py first" in result.stderr


@pytest.mark.parametrize("fixture", [CLASSIFICATION, REGRESSION])
def test_every_estimator_trains_evaluates_deploys_and_serves(tmp_path, fixture):
    """Each estimator in turn on the same store: every one passes the drafted gate, is
    compared with the one before, and survives deploy's serving check over HTTP. The
    fixtures' own estimator goes through the same on both tasks in tests/test_serving.py."""
    project = make_project(tmp_path, fixture)
    config = project.config()
    task = config["data"]["task"]
    champion = None
    others = [name for name in ESTIMATOR_NAMES if name != config["model"]["estimator"]]
    assert len(others) == len(ESTIMATOR_NAMES) - 1
    for estimator in others:
        config["model"] = {"estimator": estimator, "params": {}}
        project.write_config(config)
        run_ok(project, "train_model.py")
        run_ok(project, "evaluate_model.py")
        evaluation = json.loads((project.outputs / "evaluation.json").read_text())
        assert evaluation["task"] == task
        shape = shape_of(task, config["data"].get("positive_class"))
        assert set(evaluation["metrics"]) <= set(metrics_for(shape))
        assert (evaluation["champion"] or {}).get("version") == champion
        if not evaluation["deploy"]:  # a weaker estimator may lose to the champion: that is fine
            assert any("champion" in reason for reason in evaluation["reasons"]), evaluation
            continue
        output = run_ok(project, "deploy_model.py")
        assert "serving check:" in output and "rows matched" in output
        champion = json.loads((project.outputs / "deployment.json").read_text())["version"]
    client = MlflowClient(project.tracking_uri)
    assert client.get_model_version_by_alias(project.model_name, "champion")


def _records(project: Project) -> dict:
    """What a pipeline run leaves, less what differs between any two runs (ids, times,
    absolute paths): the outputs, the MLflow run, its dataset inputs and the registry."""
    outputs = {
        name: json.loads((project.outputs / name).read_text())
        for name in ("training.json", "evaluation.json", "deployment.json")
    }
    client = MlflowClient(project.tracking_uri)
    run = client.get_run(outputs["training.json"]["run_id"])
    version = client.get_model_version_by_alias(project.model_name, "champion")
    run_specific = {"run_id", "model_uri", "model_sha256", "tracking_uri", "serving_check"}
    evaluation = outputs["evaluation.json"]
    return {
        "outputs": {
            name: {k: v for k, v in content.items() if k not in run_specific}
            for name, content in outputs.items()
        },
        "validation": json.loads((project.outputs / "validation.json").read_text())["statistics"],
        "predictions": (project.outputs / "holdout_predictions.csv").read_text(),
        "params": {k: v for k, v in run.data.params.items() if k != "data.path"},
        "metrics": sorted(k for k in run.data.metrics),
        "values": {k: v for k, v in run.data.metrics.items() if k != "fit_time_seconds"},
        "tags": {
            k: v
            for k, v in run.data.tags.items()
            if not k.startswith("mlflow.") and k not in ("model.sha256", "gate.reasons")
        },
        "inputs": sorted(
            (i.tags[0].value, i.dataset.name, i.dataset.digest, i.dataset.profile, i.dataset.schema)
            for i in run.inputs.dataset_inputs
        ),
        "artifacts": sorted(a.path for a in client.list_artifacts(run.info.run_id, "evaluation")),
        "version": (version.version, sorted(version.tags)),
        "summary": evaluation["summary"],
    }


def test_one_process_pipeline_leaves_what_the_four_scripts_leave(deployed, tmp_path):
    project = make_project(tmp_path)
    result = project.run("run_pipeline.py")
    assert result.returncode == 0, result.stdout + result.stderr
    ran = _records(project)
    assert ran == _records(deployed)
    for line in (
        f"{project.data_path.name}: valid ({project.expectation_count()} expectations met)",
        f"deployed {project.model_name} version 1 as @champion (previous champion: none)",
    ):
        assert line in result.stdout


def test_one_process_pipeline_stops_where_the_step_script_would(tmp_path):
    project = make_project(tmp_path)
    rewrite_data(project, lambda lines: lines[:50])  # fewer rows than the suite allows
    stopped = project.run("run_pipeline.py")
    alone = project.run("validate_data.py")
    assert stopped.returncode == alone.returncode == 1
    failures = [line for line in alone.stdout.splitlines() if line.startswith("  - ")]
    assert failures and all(line in stopped.stdout for line in failures)
    assert not (project.outputs / "training.json").exists()

    config = project.config()
    config["model"]["params"] = {"not_a_parameter": 1}
    project.write_config(config)
    broken, alone = project.run("run_pipeline.py"), project.run("train_model.py")
    assert broken.returncode == alone.returncode == 2
    assert broken.stderr == alone.stderr and "model.params" in broken.stderr

"""The real scripts against a real tracking server: `mlflow server` backed by PostgreSQL.

Deploy, refusal of a model worse than the champion, promotion and rollback, all through the
REST API, with artifacts proxied by the server. One test, so that pytest-xdist keeps the
servers on one worker.
"""

import copy
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
import yaml
from mlflow.tracking import MlflowClient

from tests.conftest import CLASSIFICATION, FIXTURES, Project, make_project
from tests.servers import mlflow_server, postgres

pytestmark = pytest.mark.slow

MODEL = yaml.safe_load((FIXTURES / CLASSIFICATION / "config.yaml").read_text())["mlflow"][
    "registered_model"
]


@dataclass(frozen=True)
class TrackingServer:
    url: str
    database: str  # SQLAlchemy URI of the backend store
    artifacts: Path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrackingServer]:
    """PostgreSQL, then `mlflow server` on it; both are stopped afterwards, whatever happened."""
    root = tmp_path_factory.mktemp("tracking-server")
    with postgres() as database, mlflow_server(database, root) as url:
        yield TrackingServer(url, database, root / "artifacts")


@dataclass(frozen=True)
class Steps:
    """The pipeline scripts of one project copy, run against the server."""

    project: Project
    server: TrackingServer

    def run(self, script: str, *args: str) -> subprocess.CompletedProcess:
        result = self.project.run(script, *args, MLFLOW_TRACKING_URI=self.server.url)
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def ok(self, script: str, *args: str) -> str:
        result = self.run(script, *args)
        assert result.returncode == 0, f"{script} failed:\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def output(self, name: str) -> dict[str, Any]:
        return json.loads((self.project.outputs / name).read_text())


def alias(client: MlflowClient, name: str = "champion") -> str:
    # The REST client returns versions as strings, the SQLite store as ints.
    return str(client.get_model_version_by_alias(MODEL, name).version)


def check_first_deploy(steps: Steps, client: MlflowClient) -> None:
    """validate → train → evaluate → deploy: the run, the version and the alias on the server."""
    for script in ("validate_data.py", "train_model.py", "evaluate_model.py"):
        steps.ok(script)
    assert "as @champion (previous champion: none)" in steps.ok("deploy_model.py")

    training, evaluation = steps.output("training.json"), steps.output("evaluation.json")
    run = client.get_run(training["run_id"])
    config = steps.project.config()
    assert run.data.params["model.estimator"] == config["model"]["estimator"]
    assert run.data.metrics["test_roc_auc"] == pytest.approx(evaluation["metrics"]["roc_auc"])
    assert run.data.metrics["test_roc_auc"] >= config["gate"]["thresholds"]["roc_auc"]
    assert run.data.tags["gate.decision"] == "passed" and run.data.tags["git.commit"]
    inputs = {i.tags[0].value: i.dataset for i in run.inputs.dataset_inputs}
    assert set(inputs) == {"training", "evaluation"}
    assert inputs["training"].digest == training["dataset_digest"]
    assert json.loads(inputs["evaluation"].profile)["num_rows"] == evaluation["holdout_rows"]

    version = client.get_model_version_by_alias(MODEL, "champion")
    assert str(version.version) == "1" and version.run_id == training["run_id"]
    assert version.tags["model.sha256"] == evaluation["model_sha256"]
    assert float(version.tags["metric.roc_auc"]) == pytest.approx(evaluation["metrics"]["roc_auc"])
    assert version.tags["previous_champion_version"] == "none"
    assert steps.output("deployment.json")["tracking_uri"] == steps.server.url

    # The server's stores were used, not the embedded one.
    assert not (steps.project.root / "mlflow.db").exists()
    assert not (steps.project.root / "mlartifacts").exists()
    assert any(steps.server.artifacts.rglob("model.skops"))
    engine = sqlalchemy.create_engine(steps.server.database)
    try:
        with engine.connect() as connection:
            runs = connection.execute(sqlalchemy.text("SELECT run_uuid FROM runs")).scalars()
            assert training["run_id"] in set(runs)
    finally:
        engine.dispose()


def check_worse_model_is_refused(steps: Steps, client: MlflowClient) -> None:
    """A model above every threshold but clearly worse than the champion is not promoted."""
    config = steps.project.config()
    weaker = copy.deepcopy(config)
    weaker["gate"]["thresholds"] = {name: 0.0 for name in config["gate"]["thresholds"]}
    # One weak flag as the only feature: above the (zeroed) thresholds, far below the champion.
    weaker["data"].update(numeric_features=["south"], categorical_features=[])
    steps.project.write_config(weaker)
    try:
        steps.ok("train_model.py")
        assert "Gate failed" in steps.ok("evaluate_model.py")
    finally:
        steps.project.write_config(config)
    evaluation = steps.output("evaluation.json")
    assert evaluation["decision"] == "rejected" and evaluation["champion"]["version"] == "1"
    worse = [r for r in evaluation["reasons"] if "worse than the champion's" in r]
    assert "roc_auc" in {r.split()[0] for r in worse}, evaluation["reasons"]

    refused = steps.run("deploy_model.py")
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "deploy refused: the gate did not pass" in refused.stderr
    assert alias(client) == "1"
    assert len(client.search_model_versions(f"name = '{MODEL}'")) == 1


def check_promotion_and_rollback(steps: Steps, client: MlflowClient) -> None:
    """A second good model becomes champion; rollback returns to version 1, idempotently."""
    steps.ok("train_model.py")
    assert "champion v1" in steps.ok("evaluate_model.py")
    assert f"deployed {MODEL} version 2" in steps.ok("deploy_model.py")
    assert (alias(client), alias(client, "previous_champion")) == ("2", "1")
    assert client.get_model_version(MODEL, "2").tags["previous_champion_version"] == "1"

    assert "version 2 -> 1" in steps.ok("deploy_model.py", "--rollback")
    assert "nothing to do" in steps.ok("deploy_model.py", "--rollback")
    assert alias(client) == "1"
    assert client.get_model_version(MODEL, "2").tags["rolled_back_to"] == "1"
    unknown = steps.run("deploy_model.py", "--rollback", "--to-version", "99")
    assert unknown.returncode == 3
    assert "has no version '99' (versions: [1, 2])" in unknown.stderr
    assert alias(client) == "1"


def test_pipeline_against_postgres_backed_server(server: TrackingServer, tmp_path: Path) -> None:
    steps = Steps(make_project(tmp_path), server)
    client = MlflowClient(server.url)
    check_first_deploy(steps, client)
    check_worse_model_is_refused(steps, client)
    check_promotion_and_rollback(steps, client)

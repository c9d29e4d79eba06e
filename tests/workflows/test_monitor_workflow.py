"""monitor.yml: static guarantees, and two real runs through act against a champion in the
(fake) release store: drift opens one issue, the next finding comments on it, and
`monitoring.on_drift: retrain` starts the pipeline workflow."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import Project, copy_project
from tests.workflows.act_runner import run_act
from tests.workflows.test_pipeline_workflow import (
    REPO,
    REPOSITORY,
    github_env,
    load,
    repository_copy,
    results,
)

MONITOR = ".github/workflows/monitor.yml"


def test_monitor_runs_weekly_and_on_demand_with_least_privilege():
    document = load(REPO / MONITOR)
    assert set(document[True]) == {"schedule", "workflow_dispatch"}
    assert "data" in document[True]["workflow_dispatch"]["inputs"]
    jobs = document["jobs"]
    assert jobs["monitor"]["permissions"] == {"contents": "read"}
    assert jobs["alert"]["permissions"] == {"issues": "write"}
    assert jobs["retrain"]["permissions"] == {"actions": "write"}
    assert jobs["alert"]["if"] == "needs.monitor.outputs.drifted == 'true'"
    assert "needs.monitor.outputs.on-drift == 'retrain'" in jobs["retrain"]["if"]
    for job_id in ("alert", "retrain"):  # they run stdlib scripts and install nothing
        runs = [step.get("run", "") for step in jobs[job_id]["steps"]]
        assert all("make" not in run.split() for run in runs), job_id
        assert any(run.startswith("python3 drift_alert.py") for run in runs), job_id


def with_drifting_batch(repo: Path) -> None:
    """A recent batch with a shifted numeric column and a new category, configured as the
    batch to monitor, and retraining on drift."""
    project = Project(repo)
    config = project.config()
    data = config["data"]
    frame = pd.read_csv(project.data_path)
    rng = np.random.default_rng(3)
    batch = frame.iloc[rng.integers(0, len(frame), 600)].drop(columns=data["target"])
    numeric, category = data["numeric_features"][0], data["categorical_features"][0]
    batch[numeric] = batch[numeric] + frame[numeric].std()
    batch.loc[rng.random(len(batch)) < 0.2, category] = "brand-new"
    batch.to_csv(repo / "data" / "recent.csv", index=False)
    config["monitoring"].update(data="data/recent.csv", on_drift="retrain")
    project.write_config(config)


def publish_a_champion(repo: Path, workspace: Path, env: dict[str, str]) -> None:
    """What a push run leaves in the release store, made without act: the pipeline in a
    workspace copy, then `champion_store.py publish`."""
    workspace.mkdir()
    project = copy_project(repo, workspace)
    env = {**env, "GH_TOKEN": "token", "GITHUB_REPOSITORY": REPOSITORY["full_name"]}
    for script, *args in (
        ("champion_store.py", "restore"),
        ("run_pipeline.py",),
        ("champion_store.py", "publish", "--event", "deploy"),
    ):
        result = project.run(script, *args, **env)
        assert result.returncode == 0, f"{script}: {result.stdout}\n{result.stderr}"


def issues(github: Path) -> list[dict]:
    folder = github / REPOSITORY["full_name"] / "issues"
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


@pytest.mark.slow
def test_drift_opens_one_issue_then_comments_on_it_and_retrains(tmp_path):
    repo = repository_copy(tmp_path / "repo", edit=with_drifting_batch)
    github = tmp_path / "github"
    env = github_env(github)
    publish_a_champion(repo, tmp_path / "seed", env)
    model = Project(repo).model_name

    scheduled = run_act(
        repo,
        "schedule",
        workflow=MONITOR,
        event_payload={"schedule": "41 5 * * 1", "repository": REPOSITORY},
        env=env,
        timeout=600,
        run_dir=tmp_path / "monitor1",
    )
    assert scheduled.returncode == 0, scheduled.report()
    assert results(scheduled) == {
        "monitor": "success",
        "alert": "success",
        "retrain": "success",
    }, scheduled.report()
    summary = scheduled.job("monitor").summary
    assert f"restored {model} version 1" in summary, summary
    assert f"## Drift: `{model}` v1 on `data/recent.csv`" in summary, summary
    assert "⚠️ **Drift in" in summary, summary
    [issue] = issues(github)
    assert issue["body"].startswith("<!-- model-drift -->") and issue["state"] == "open"
    assert issue["title"].startswith("Data drift in ") and issue["title"].endswith(f"{model} v1")
    assert [label["name"] for label in issue["labels"]] == ["model-drift"]
    assert "[Monitoring run](" in issue["body"]
    dispatches = (github / "dispatches.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in dispatches] == [
        {"repository": REPOSITORY["full_name"], "workflow": "pipeline.yml", "ref": "main"}
    ]
    drift = json.loads((scheduled.artifacts_dir / "drift" / "drift.json").read_text())
    assert drift["drifted"] and drift["data"] == "data/recent.csv"

    on_demand = run_act(
        repo,
        "workflow_dispatch",
        workflow=MONITOR,
        event_payload={"inputs": {"data": "data/recent.csv"}, "repository": REPOSITORY},
        inputs={"data": "data/recent.csv"},
        env=env,
        timeout=600,
        run_dir=tmp_path / "monitor2",
    )
    assert on_demand.returncode == 0, on_demand.report()
    assert len(issues(github)) == 1  # the same issue, commented on
    comments = json.loads((github / REPOSITORY["full_name"] / "comments" / "1.json").read_text())
    assert len(comments) == 1 and "⚠️ **Drift in" in comments[0]["body"]

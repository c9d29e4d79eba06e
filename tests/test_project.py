"""The user's own project, as config.yaml describes it: these tests read the checkout's config,
data and suite (whatever a fork put there) and assume nothing about their content."""

import json

import pandas as pd
import pytest

from mlops.config import load_config
from tests.conftest import REPO, Project, copy_project

pytestmark = pytest.mark.fork_sensitive


@pytest.fixture(scope="module")
def config():
    return load_config(REPO / "config.yaml")


def suite_rules(config) -> list[dict]:
    path = config.root / "gx" / "expectations" / f"{config.data.expectation_suite}.json"
    assert path.is_file(), f"{path.name}: no suite named by data.expectation_suite"
    return json.loads(path.read_text())["expectations"]


def test_config_loads_and_names_existing_columns(config):
    header = list(pd.read_csv(config.data_path, nrows=0).columns)
    split_by = [c for c in (config.split.time_column, config.split.group_column) if c]
    missing = [c for c in [config.data.target, *config.features, *split_by] if c not in header]
    assert not missing, f"{config.data.path} has no column(s) {missing}"


def test_suite_checks_exactly_the_data_columns(config):
    header = set(pd.read_csv(config.data_path, nrows=0).columns)
    column_sets = [
        set(rule["kwargs"]["column_set"])
        for rule in suite_rules(config)
        if rule["type"] == "expect_table_columns_to_match_set"
    ]
    assert column_sets, "the suite should pin the column set (make suite drafts one)"
    assert column_sets[0] == header


def test_every_feature_and_the_target_has_a_rule(config):
    ruled = {rule["kwargs"].get("column") for rule in suite_rules(config)}
    unruled = [c for c in [config.data.target, *config.features] if c not in ruled]
    assert not unruled, f"no expectation names {unruled}; run make suite"


def test_the_monitored_batch_has_the_features(config):
    source = config.monitoring.data
    if not source or "://" in source or any(c in source for c in "*?[{"):
        pytest.skip("monitoring.data is unset, a URL or a pattern: checked when monitored")
    path = config.root / source
    assert path.is_file(), f"monitoring.data: no file at {source}"
    header = list(pd.read_csv(path, nrows=0).columns)
    missing = [c for c in config.features if c not in header]
    assert not missing, f"{source} has no column(s) {missing}, which the model takes"


@pytest.mark.slow
def test_data_passes_its_suite_and_the_pipeline_runs(tmp_path):
    project = copy_project(REPO, tmp_path)
    result = project.run("run_pipeline.py")
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    evaluation = json.loads((project.outputs / "evaluation.json").read_text())
    assert evaluation["holdout_rows"] == Project(project.root).holdout_rows()
    if not (project.outputs / "deployment.json").is_file():
        return  # the gate rejected the first model: nothing to monitor
    source = load_config(project.config_path).monitoring.data
    if source and "://" not in source:  # a URL is not fetched from a test
        monitored = project.run("monitor_model.py")
        assert monitored.returncode == 0, f"{monitored.stdout}\n{monitored.stderr}"
        assert json.loads((project.outputs / "drift.json").read_text())["features"]

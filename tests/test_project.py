"""The user's own project, as config.yaml describes it: these tests read the checkout's config,
data and suite (whatever a fork put there) and assume nothing about their content."""

import json

import pandas as pd
import pytest

from mlops.config import load_config
from tests.conftest import REPO, Project, copy_project


@pytest.fixture(scope="module")
def config():
    return load_config(REPO / "config.yaml")


def suite_rules(config) -> list[dict]:
    path = config.root / "gx" / "expectations" / f"{config.data.expectation_suite}.json"
    assert path.is_file(), f"{path.name}: no suite named by data.expectation_suite"
    return json.loads(path.read_text())["expectations"]


def test_config_loads_and_names_existing_columns(config):
    header = list(pd.read_csv(config.data_path, nrows=0).columns)
    missing = [c for c in [config.data.target, *config.features] if c not in header]
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


@pytest.mark.slow
def test_data_passes_its_suite_and_the_pipeline_runs(tmp_path):
    project = copy_project(REPO, tmp_path)
    for script, args in (
        ("validate_data.py", ()),
        ("train_model.py", ()),
        ("evaluate_model.py", ()),
        ("deploy_model.py", ("--skip-if-rejected",)),
    ):
        result = project.run(script, *args)
        assert result.returncode == 0, f"{script}:\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr
    evaluation = json.loads((project.outputs / "evaluation.json").read_text())
    assert evaluation["holdout_rows"] == Project(project.root).holdout_rows()

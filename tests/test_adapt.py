"""make adapt: profiling a CSV, the drafted suite and config, and what it refuses."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml

from mlops.adapt import (
    Baseline,
    config_is_untouched_draft,
    cross_validated_baseline,
    draft_expectations,
    profile_frame,
    propose_gate,
    redraft_suite,
    render_config,
    suite_is_untouched_draft,
)
from mlops.config import load_config
from mlops.errors import PipelineError
from tests.conftest import (
    CLASSIFICATION,
    FIXTURES,
    MULTICLASS,
    REGRESSION,
    REPO,
    TIME_ORDERED,
    clean_env,
    copy_project,
)


def frame(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = pd.DataFrame(
        {
            "id": np.arange(rows) + 1000,
            "code": [f"c{i}" for i in range(rows)],
            "amount": rng.normal(50, 10, rows).round(2),
            "count": rng.integers(0, 30, rows),
            "level": rng.integers(1, 5, rows),
            "colour": rng.choice(["red", "green", "blue"], rows),
            "same": "x",
            "label": rng.choice(["yes", "no"], rows, p=[0.3, 0.7]),
            "value": rng.normal(size=rows),
        }
    )
    data.loc[::10, "amount"] = np.nan
    data.loc[::15, "colour"] = None
    return data


def kinds(profile) -> dict[str, str]:
    return {c.name: c.kind for c in profile.columns}


def test_column_kinds_and_what_is_left_out():
    profile = profile_frame(frame(), "x.csv", "label")
    assert kinds(profile) == {
        "id": "left out",
        "code": "left out",
        "amount": "numeric",
        "count": "numeric",
        "level": "numeric",
        "colour": "categorical",
        "same": "left out",
        "label": "target",
        "value": "numeric",
    }
    notes = {c.name: c.note for c in profile.columns}
    assert "ID-like" in notes["id"] and "ID-like" in notes["code"]
    assert "constant" in notes["same"]
    assert "codes" in notes["level"]  # four whole-number values: maybe a code


def test_free_text_is_left_out_but_many_valued_categories_stay():
    data = frame(rows=1000)
    data["comment"] = [f"note {i % 700}" for i in range(1000)]
    data["state"] = [f"s{i % 51}" for i in range(1000)]
    profile = profile_frame(data, "x.csv", "label")
    assert kinds(profile)["comment"] == "left out"
    assert kinds(profile)["state"] == "categorical"


def dated(seed: int, rows: int = 400) -> pd.DataFrame:
    """frame() with columns of dates in several shapes, and numbers and text that are not."""
    rng = np.random.default_rng(seed)
    data = frame(rows, seed)
    days = pd.Series(pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 300, rows), "D"))
    data["yyyymmdd"] = days.dt.strftime("%Y%m%d").astype(int)  # numbers that look like dates
    data["epoch"] = days.astype("int64") // 10**9  # numbers: a time only if the config says so
    data["opened"] = days.dt.strftime("%d/%m/%Y")
    data["closed"] = (days + pd.Timedelta(hours=30)).dt.strftime("%Y-%m-%dT%H:%M:%S+02:00")
    data["memo"] = rng.choice(["call back", "2022-03-01", "paid", "2022-04-11"], rows)
    data["renewed"] = days.dt.strftime("%Y-%m-%d").where(rng.random(rows) > 0.1)
    data["batch"] = np.resize(["2022-01-01", "2022-01-02"], rows)
    return data


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_first_column_of_dates_orders_the_rows_and_no_number_is_taken_for_dates(seed):
    profile = profile_frame(dated(seed), "x.csv", "label")
    found = kinds(profile)
    assert found["opened"] == "time" and profile.time_column == "opened"
    assert {name: found[name] for name in ("yyyymmdd", "epoch", "memo")} == {
        "yyyymmdd": "numeric",
        "epoch": "numeric",
        "memo": "categorical",  # text with a few dates in it is no time
    }
    assert {found[name] for name in ("closed", "renewed", "batch")} == {"left out"}
    notes = {c.name: c.note for c in profile.columns}
    assert "set split.time_column to it if it, not 'opened'" in notes["closed"]
    assert "dates, empty in" in notes["renewed"] and "2 distinct" in notes["batch"]
    assert profile.baseline_folds == 5


def test_a_draft_with_dates_splits_by_time_and_its_baseline_folds_are_time_ordered(tmp_path):
    data = dated(0)
    profile = profile_frame(data, "data/x.csv", "label")
    baseline = cross_validated_baseline(data, profile)
    assert baseline.time_ordered and baseline.describe_folds() == "5 time-ordered folds"
    text = render_config(
        profile, "data/x.csv", "x", propose_gate(baseline.metrics, profile.shape), baseline
    )
    assert "over 5 time-ordered folds" in text
    assert yaml.safe_load(text)["split"] == {
        "test_fraction": 0.2,
        "seed": 42,
        "time_column": "opened",
    }
    rules = rules_by(draft_expectations(profile), "expect_column_values_to_not_be_null")
    assert "opened" in rules and "mostly" not in rules["opened"]  # every row needs its time


@pytest.mark.parametrize(
    ("target", "task", "positive", "expected"),
    [
        ("label", None, None, ("classification", "yes")),
        ("value", None, None, ("regression", None)),
        ("label", None, "no", ("classification", "no")),
    ],
)
def test_task_and_positive_class(target, task, positive, expected):
    profile = profile_frame(frame(), "x.csv", target, task, positive)
    assert (profile.task, profile.positive_class) == expected


def test_three_or_more_classes_are_multiclass_with_the_class_set_in_the_suite():
    data = frame()
    data["label"] = np.resize(["red", "green", "blue", "blue", "green", "red", "violet"], 200)
    profile = profile_frame(data, "x.csv", "label")
    assert (profile.task, profile.positive_class, profile.shape) == (
        "classification",
        None,
        "multiclass",
    )
    assert profile.rarest_class == ("violet", 28)
    assert profile.reported == [
        "f1_macro",
        "balanced_accuracy",
        "accuracy",
        "f1_weighted",
        "roc_auc_ovr",
        "log_loss",
    ]
    value_sets = rules_by(draft_expectations(profile), "expect_column_distinct_values_to_equal_set")
    assert value_sets["label"]["value_set"] == ["blue", "green", "red", "violet"]
    baseline = cross_validated_baseline(data, profile)
    gate = propose_gate(baseline.metrics, profile.shape)
    assert set(gate["thresholds"]) == {"f1_macro", "balanced_accuracy"}


def test_many_classes_leave_the_costly_ranking_metric_out_of_the_draft():
    data = frame(rows=600)
    data["label"] = [f"c{i % 12}" for i in range(600)]
    profile = profile_frame(data, "x.csv", "label")
    assert profile.shape == "multiclass" and "roc_auc_ovr" not in profile.reported


def test_a_few_integer_values_stay_numeric_with_a_word_about_classes():
    data = frame()
    data["grade"] = np.resize([1, 2, 3, 4], 200)
    profile = profile_frame(data, "x.csv", "grade")
    assert profile.task == "regression"
    assert "TASK=classification" in profile.target_column.note
    forced = profile_frame(data, "x.csv", "grade", "classification")
    assert forced.shape == "multiclass" and forced.target_column.levels == [1, 2, 3, 4]


def test_positive_class_is_the_rarer_one_without_a_conventional_label():
    data = frame()
    data["label"] = np.where(np.arange(len(data)) % 4 == 0, "churned", "stayed")
    assert profile_frame(data, "x.csv", "label").positive_class == "churned"


@pytest.mark.parametrize(
    ("edit", "target", "task", "positive", "message"),
    [
        (None, "nope", None, None, "no column 'nope' to use as the target"),
        (lambda d: d.assign(label="yes"), "label", None, None, "has a single value"),
        (lambda d: d.assign(label=d["colour"]), "label", None, None, "is empty in"),
        (
            lambda d: d.assign(label=np.resize(["a", "b", "c"], len(d))),
            "label",
            None,
            "a",
            r"POSITIVE \('a'\) is for a target of two classes; 'label' has 3",
        ),
        (
            None,
            "value",
            "classification",
            None,
            "has 200 distinct values, more than 50 classes .* Choose TASK=regression",
        ),
        (
            lambda d: d.assign(label=[f"user-{i}" for i in range(len(d))]),
            "label",
            None,
            None,
            "has 200 distinct values, more than 50 classes",
        ),
        (None, "label", "regression", None, "is not numeric"),
        (None, "label", None, "maybe", "the positive class 'maybe' is not a value"),
    ],
)
def test_unusable_targets_are_refused(edit, target, task, positive, message):
    data = frame() if edit is None else edit(frame())
    with pytest.raises(PipelineError, match=message):
        profile_frame(data, "x.csv", target, task, positive)


def rules_by(expectations, kind):
    return {r["kwargs"].get("column"): r["kwargs"] for r in expectations if r["type"] == kind}


def test_drafted_rules_hold_on_the_data_they_came_from():
    data = frame()
    profile = profile_frame(data, "x.csv", "label")
    expectations = draft_expectations(profile)
    columns = rules_by(expectations, "expect_table_columns_to_match_set")[None]["column_set"]
    assert columns == list(data.columns)
    for column, kwargs in rules_by(expectations, "expect_column_values_to_be_between").items():
        values = data[column].dropna()
        assert kwargs["min_value"] <= values.min() and values.max() <= kwargs["max_value"]
    not_null = rules_by(expectations, "expect_column_values_to_not_be_null")
    assert "mostly" not in not_null["count"]
    assert not_null["amount"]["mostly"] <= 1 - data["amount"].isna().mean()
    in_set = rules_by(expectations, "expect_column_values_to_be_in_set")
    assert in_set["colour"]["value_set"] == ["blue", "green", "red"]
    assert rules_by(expectations, "expect_column_distinct_values_to_equal_set")["label"][
        "value_set"
    ] == ["no", "yes"]
    assert "id" not in not_null and "same" not in not_null  # left-out columns get no rules


def test_floors_under_observed_shares_hold_however_large_the_share():
    rows = 1000
    data = frame(rows)
    data["sparse"] = np.where(np.arange(rows) % 100 == 0, np.arange(rows) / 7, np.nan)  # 1%
    data["hollow"] = np.where(np.arange(rows) % 25 == 0, np.resize(["x", "y"], rows), None)
    copies = pd.concat([data.iloc[:50]] * 20, ignore_index=True)  # every row duplicated
    for table in (data, copies):
        expectations = draft_expectations(profile_frame(table, "x.csv", "label"))
        for column, kwargs in rules_by(expectations, "expect_column_values_to_not_be_null").items():
            present = table[column].notna().mean()
            # A floor of 0.0 is still a floor: dropping it would demand a value in every row.
            assert present == 1 or 0 <= kwargs["mostly"] <= present, (column, kwargs)
        unique = rules_by(expectations, "expect_compound_columns_to_be_unique")[None]
        assert 0 <= unique["mostly"] <= 1 - table.duplicated(keep=False).mean()


def test_true_false_with_gaps_is_checked_as_booleans():
    data = frame()
    data["flag"] = np.resize([True, False, None], len(data))  # pandas reads this as "object"
    expectations = draft_expectations(profile_frame(data, "x.csv", "label"))
    assert rules_by(expectations, "expect_column_values_to_be_of_type")["flag"]["type_"] == "bool"


def test_baseline_on_a_sample_keeps_a_rare_class_in_every_fold():
    rows = 100_000  # above the baseline's sample size: a random sample would miss the class
    rng = np.random.default_rng(0)
    data = pd.DataFrame({"x": rng.normal(size=rows), "label": "common"})
    data.loc[[10, 60_000], "label"] = "rare"
    profile = profile_frame(data, "x.csv", "label")
    assert profile.baseline_folds == 2
    baseline = cross_validated_baseline(data, profile)
    assert set(baseline.metrics) == {"roc_auc", "f1", "precision", "recall", "accuracy", "log_loss"}
    # each held-out fold had a row of each class
    assert baseline.folds == 2 and not np.isnan(baseline.metrics["roc_auc"][0])


def test_gate_direction_follows_each_metric():
    gate = propose_gate({"r2": (0.6, 0.05), "rmse": (100.0, 5.0)}, "regression")
    assert gate["thresholds"] == {"r2": 0.5, "rmse": 110.0}
    assert gate["champion_tolerance"] == {"r2": 0.05, "rmse": 5.0}


def test_rendered_config_loads_and_knows_it_is_an_untouched_draft(tmp_path):
    data = frame()
    (tmp_path / "data").mkdir()
    data.to_csv(tmp_path / "data" / "x.csv", index=False)
    profile = profile_frame(data, "data/x.csv", "value")
    baseline = Baseline({"rmse": (1.0, 0.1), "mae": (0.8, 0.1), "r2": (0.1, 0.05)}, folds=5)
    gate = propose_gate(baseline.metrics, "regression")
    text = render_config(profile, "data/x.csv", "x", gate, baseline)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    config = load_config(path)
    assert config.data.task == "regression" and config.data.positive_class is None
    assert config.data.categorical_features == ["colour", "label"]
    assert config_is_untouched_draft(path)
    path.write_text(text.replace("seed: 42", "seed: 7"))
    assert not config_is_untouched_draft(path)
    path.write_text(text.replace("# relative to this file", "# where the data lives"))
    assert config_is_untouched_draft(path)  # comments are the user's to change
    assert "  data: null  #" in text  # the batch to monitor: the user's next step, not an edit
    path.write_text(text.replace("  data: null  #", "  data: exports/*.csv  #"))
    assert config_is_untouched_draft(path) and load_config(path).monitoring.data == "exports/*.csv"
    path.write_text(text.replace("psi_threshold: 0.2", "psi_threshold: 0.5"))
    assert not config_is_untouched_draft(path)


@pytest.mark.parametrize("fixture", [CLASSIFICATION, REGRESSION, TIME_ORDERED, MULTICLASS])
def test_fixture_projects_are_untouched_drafts(fixture):
    config = load_config(FIXTURES / fixture / "config.yaml")
    assert config_is_untouched_draft(FIXTURES / fixture / "config.yaml")
    suite = FIXTURES / fixture / "gx" / "expectations" / f"{config.data.expectation_suite}.json"
    assert suite_is_untouched_draft(suite)


# ---------------------------------------------------------------- make adapt, for real


def adapt(root, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "adapt_project.py"), "--config", str(root / "config.yaml")]
        + list(args),
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def regression_data_in_a_classification_project(tmp_path):
    """A drafted classification project whose data folder also holds a regression CSV."""
    project = copy_project(FIXTURES / CLASSIFICATION, tmp_path)
    shutil.copy2(next((FIXTURES / REGRESSION / "data").glob("*.csv")), tmp_path / "data")
    return project


@pytest.mark.slow
def test_adapt_replaces_a_draft_refuses_an_edited_one_and_validates(
    regression_data_in_a_classification_project,
):
    project = regression_data_in_a_classification_project
    root = project.root
    old_suite = project.suite_path
    csv = next(p.name for p in (root / "data").glob("*.csv") if p.name != project.data_path.name)
    target = yaml.safe_load((FIXTURES / REGRESSION / "config.yaml").read_text())["data"]["target"]

    result = adapt(root, "--data", f"data/{csv}", "--target", target)
    assert result.returncode == 0, result.stderr
    assert "-> regression" in result.stdout and "review before you commit" in result.stdout
    config = load_config(root / "config.yaml")
    assert config.data.task == "regression" and config.data.path == f"data/{csv}"
    assert not old_suite.exists()  # the earlier untouched draft went with its config
    suite = json.loads(project.suite_path.read_text())
    assert suite_is_untouched_draft(project.suite_path) and suite["expectations"]

    validated = project.run("validate_data.py")
    assert validated.returncode == 0, validated.stdout + validated.stderr

    config_text = (root / "config.yaml").read_text()
    (root / "config.yaml").write_text(config_text.replace("seed: 42", "seed: 1"))
    refused = adapt(root, "--data", f"data/{csv}", "--target", target)
    assert refused.returncode == 2 and "already adapted" in refused.stderr
    assert "FORCE=1" in refused.stderr and "Traceback" not in refused.stderr
    assert "seed: 1" in (root / "config.yaml").read_text()
    own_model = root / "project_model.py"  # a fork's own module: never drafted nor replaced
    own_model.write_text("def build_estimator(settings):\n    raise NotImplementedError\n")
    forced = adapt(root, "--data", f"data/{csv}", "--target", target, "--force")
    assert forced.returncode == 0 and "seed: 42" in (root / "config.yaml").read_text()
    assert own_model.read_text().startswith("def build_estimator(settings):")

    resuite = adapt(root, "--suite-only")
    assert resuite.returncode == 0 and "wrote gx/expectations/" in resuite.stdout


@pytest.mark.slow
@pytest.mark.parametrize(
    ("make_input", "args", "message"),
    [
        (None, ("--data", "data/absent.csv", "--target", "x"), "data file not found"),
        (lambda p: p.write_text(""), ("--target", "x"), "the file is empty"),
        (lambda p: p.write_text("a,b\n1,2\n3,4\n"), ("--target", "x"), "no column 'x'"),
        (lambda p: p.write_text("a,b\n1,2\n3,2\n"), ("--target", "b"), "has a single value"),
        (lambda p: p.write_text("a,b\n1,2\n"), ("--data", "/tmp/else.csv", "--target", "b"), ""),
    ],
    ids=["missing-file", "empty-csv", "unknown-target", "one-value-target", "outside"],
)
def test_bad_input_is_refused_and_nothing_written(tmp_path, make_input, args, message):
    project = copy_project(FIXTURES / CLASSIFICATION, tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    if make_input:
        make_input(tmp_path / "data" / "new.csv")
        before[tmp_path / "data" / "new.csv"] = (tmp_path / "data" / "new.csv").read_bytes()
    if "--data" not in args:
        args = ("--data", "data/new.csv", *args)
    result = adapt(project.root, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    if args[1] == "/tmp/else.csv":
        assert "outside the project" in result.stderr
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


@pytest.mark.slow
def test_make_suite_keeps_the_split_column_checked_for_gaps(tmp_path):
    project = copy_project(FIXTURES / TIME_ORDERED, tmp_path)
    drafted = json.loads(project.suite_path.read_text())["meta"]["fingerprint"]
    redraft_suite(load_config(project.config_path))  # the same suite as make adapt drafted
    assert json.loads(project.suite_path.read_text())["meta"]["fingerprint"] == drafted

    config = project.config()
    config["split"] = {"test_fraction": 0.2, "seed": 42, "group_column": "city"}
    config["data"]["categorical_features"] = []  # a group column that is no feature
    project.write_config(config)
    redraft_suite(load_config(project.config_path), force=True)
    rules = rules_by(
        json.loads(project.suite_path.read_text())["expectations"],
        "expect_column_values_to_not_be_null",
    )
    assert "city" in rules and "mostly" not in rules["city"] and "date" not in rules

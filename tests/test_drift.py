"""Drift statistics (mlops/drift.py) on the fixture projects' data: injected shifts are found,
resamples of the training data itself raise (almost) no alarm."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from mlops.drift import MAX_CATEGORIES, OTHER, SAMPLE_SIZE, DriftSettings, compare, profile
from tests.conftest import CLASSIFICATION, FIXTURES, MULTICLASS, REGRESSION

SETTINGS = DriftSettings()


def fixture_data(name: str) -> tuple[pd.DataFrame, dict]:
    config = yaml.safe_load((FIXTURES / name / "config.yaml").read_text())
    return pd.read_csv(FIXTURES / name / config["data"]["path"]), config["data"]


def reference_of(frame: pd.DataFrame, data: dict) -> dict:
    features = frame[data["numeric_features"] + data["categorical_features"]]
    # A stand-in for the model's scores: any number per row with a spread.
    scores = pd.Series(np.random.default_rng(0).random(len(frame)), index=frame.index)
    return profile(
        features,
        data["numeric_features"],
        scores,
        list(frame.columns),
        data["task"],
        data.get("positive_class"),
        seed=42,
    )


def check(reference: dict, batch: pd.DataFrame, scores: pd.Series | None = None) -> dict:
    features = batch[list(reference["features"])]
    if scores is None:
        scores = pd.Series(np.random.default_rng(1).random(len(batch)), index=batch.index)
    return compare(reference, features, list(batch.columns), scores, SETTINGS)


@pytest.fixture(scope="module", params=[CLASSIFICATION, REGRESSION])
def project_data(request) -> tuple[pd.DataFrame, dict, dict]:
    frame, data = fixture_data(request.param)
    return frame, data, reference_of(frame, data)


def test_profile_is_bounded_and_describes_the_training_rows(project_data):
    frame, data, reference = project_data
    assert reference["columns"] == list(frame.columns)
    for name in data["numeric_features"]:
        numeric = reference["features"][name]
        assert numeric["kind"] == "numeric" and len(numeric["sample"]) <= SAMPLE_SIZE
        assert sum(numeric["shares"]) == pytest.approx(1.0)
        assert len(numeric["shares"]) == len(numeric["edges"]) + 1
        assert numeric["missing_rate"] == pytest.approx(frame[name].isna().mean())
    for name in data["categorical_features"]:
        categorical = reference["features"][name]
        assert sum(categorical["counts"].values()) == frame[name].notna().sum()
    assert len(json.dumps(reference)) < 200_000  # it travels inside the model's files


def shifted(frame: pd.DataFrame, data: dict) -> tuple[pd.DataFrame, dict[str, str]]:
    """A resample of the data with three documented shifts, and which column has which."""
    rng = np.random.default_rng(5)
    batch = frame.iloc[rng.integers(0, len(frame), 2000)].reset_index(drop=True)
    moved, emptied = data["numeric_features"][:2]
    category = data["categorical_features"][0]
    batch[moved] = batch[moved] + frame[moved].std()
    batch.loc[rng.random(len(batch)) < 0.2, category] = "never-seen-before"
    missing = frame[emptied].isna().mean()
    batch.loc[rng.random(len(batch)) < 0.3 / (1 - missing), emptied] = np.nan
    return batch, {moved: "PSI", category: "never seen", emptied: "missing values"}


def test_injected_shifts_are_found_with_their_reason(project_data):
    frame, data, reference = project_data
    batch, expected = shifted(frame, data)
    result = check(reference, batch)
    assert set(expected) <= set(result["drifted_features"]), result["drifted_features"]
    by_name = {item["name"]: item for item in result["features"]}
    for name, reason in expected.items():
        assert any(reason in text for text in by_name[name]["reasons"]), by_name[name]
    assert by_name[next(iter(expected))]["psi"]["value"] >= SETTINGS.psi_threshold
    category = data["categorical_features"][0]
    assert by_name[category]["unseen"]["share"] == pytest.approx(0.2, abs=0.03)
    assert by_name[category]["unseen"]["examples"] == ["never-seen-before"]
    severities = [item["severity"] for item in result["features"]]
    assert severities == sorted(severities, reverse=True)
    assert result["drifted"]


def test_a_shift_in_the_predictions_alone_is_reported(project_data):
    frame, _, reference = project_data
    batch = frame.sample(1000, random_state=2)
    result = check(reference, batch, pd.Series(np.full(len(batch), 0.99), index=batch.index))
    assert result["prediction"]["drifted"] and result["drifted"]
    assert result["drifted_features"] == []


def test_columns_the_training_data_lacked_are_listed(project_data):
    frame, _, reference = project_data
    batch = frame.sample(500, random_state=3).assign(channel="web")
    assert check(reference, batch)["new_columns"] == ["channel"]


@pytest.mark.slow
def test_resamples_of_the_training_data_rarely_raise_an_alarm(project_data):
    frame, _, reference = project_data
    rng = np.random.default_rng(11)
    trials = 100
    alarms = dict.fromkeys([*reference["features"], "prediction"], 0)
    scores = pd.Series(np.random.default_rng(0).random(len(frame)), index=frame.index)
    for _ in range(trials):
        rows = rng.integers(0, len(frame), 1000)
        batch = frame.iloc[rows]
        result = check(reference, batch, scores.iloc[rows])
        for item in [*result["features"], result["prediction"]]:
            alarms[item["name"]] += item["drifted"]
    rates = {name: count / trials for name, count in alarms.items()}
    assert max(rates.values()) <= 0.05, rates


def test_many_valued_categories_keep_unseen_detection_to_what_was_kept():
    values = pd.Series([f"c{i}" for i in range(MAX_CATEGORIES + 200)] * 3)
    frame = pd.DataFrame({"code": values, "x": np.arange(len(values), dtype=float)})
    scores = pd.Series(np.linspace(0, 1, len(frame)))
    reference = profile(frame, ["x"], scores, ["code", "x"], "regression", None, seed=0)
    assert OTHER in reference["features"]["code"]["counts"]
    # A category beyond the kept ones may be a rare known one: not counted as unseen.
    result = check(reference, frame.assign(code="brand-new"), scores)
    code = next(item for item in result["features"] if item["name"] == "code")
    assert code["unseen"]["share"] == 0.0


def test_code_columns_read_the_same_with_or_without_gaps():
    # pandas reads an integer code column as float when a file has gaps: 3.0 is still "3".
    codes = pd.Series([1.0, 2.0, 3.0, np.nan] * 200)
    frame = pd.DataFrame({"code": codes, "x": np.arange(len(codes), dtype=float)})
    scores = pd.Series(np.linspace(0, 1, len(frame)))
    reference = profile(frame, ["x"], scores, ["code", "x"], "regression", None, seed=0)
    assert set(reference["features"]["code"]["counts"]) == {"1", "2", "3"}
    batch = pd.DataFrame({"code": pd.Series([1, 2, 3] * 200), "x": np.arange(600, dtype=float)})
    code = next(
        i for i in check(reference, batch, scores.iloc[:600])["features"] if i["name"] == "code"
    )
    assert code["unseen"]["share"] == 0.0 and code["unseen"]["examples"] == []


def multiclass_reference() -> tuple[pd.DataFrame, dict, dict]:
    """The multiclass fixture's profile, its predictions standing in as the true classes."""
    frame, data = fixture_data(MULTICLASS)
    features = frame[data["numeric_features"] + data["categorical_features"]]
    target = frame[data["target"]]
    reference = profile(
        features,
        data["numeric_features"],
        target.astype(str),
        list(frame.columns),
        data["task"],
        None,
        seed=42,
        target=target,
    )
    return frame, data, reference


def test_predicted_classes_are_followed_like_a_categorical_column():
    frame, data, reference = multiclass_reference()
    assert reference["prediction"]["kind"] == "categorical"
    assert reference["target"]["name"] == data["target"]
    assert set(reference["target"]["counts"]) == set(frame[data["target"]])
    batch = frame.sample(600, random_state=5)
    same = check(reference, batch, batch[data["target"]].astype(str))
    assert not same["prediction"]["drifted"] and same["target"] is None  # no labels given
    rare = frame[data["target"]].value_counts().idxmin()
    only_rare = pd.Series(rare, index=batch.index)
    shifted = check(reference, batch, only_rare)
    assert shifted["prediction"]["drifted"] and shifted["prediction"]["kind"] == "categorical"


def test_a_class_training_never_saw_in_a_labelled_batch_is_reported():
    frame, data, reference = multiclass_reference()
    batch = frame.sample(600, random_state=6)
    labels = batch[data["target"]].copy()
    labels.iloc[:90] = "Golden eagle"  # 15% of the rows: a class the model never learned
    features = batch[list(reference["features"])]
    scores = labels.where(labels != "Golden eagle", labels.iloc[-1]).astype(str)
    result = compare(reference, features, list(batch.columns), scores, SETTINGS, labels)
    target = result["target"]
    assert target["name"] == f"{data['target']} (target)" and target["drifted"]
    assert target["unseen"]["examples"] == ["Golden eagle"]
    reason = "15.0% of rows hold classes never seen in training (e.g. 'Golden eagle')"
    assert reason in target["reasons"] and result["drifted"]
    labelled = compare(
        reference, features, list(batch.columns), scores, SETTINGS, batch[data["target"]]
    )
    assert not labelled["target"]["drifted"]

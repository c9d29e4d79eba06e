"""Safe model files: skops round trip, the reviewed trust list, pickle refused."""

import operator

import numpy as np
import pandas as pd
import pytest
from mlflow import sklearn as mlflow_sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from mlops.errors import PipelineError
from mlops.modeling import ESTIMATORS, build_pipeline, trusted_types
from mlops.registry import check_skops_safe, directory_sha256, load_sklearn_model

pytestmark = pytest.mark.slow  # MLflow saves models: seconds each

X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": ["x", "y", "x", "y", "x", "y"]})
Y = pd.Series(["good", "bad", "good", "bad", "good", "bad"])


TARGETS = {"classification": Y, "regression": pd.Series([1.5, 2.0, 0.5, 3.0, 2.5, 4.0])}
PAIRS = [(task, name) for task in ESTIMATORS for name in ESTIMATORS[task]]


@pytest.mark.parametrize(("task", "estimator"), PAIRS, ids=[f"{t}-{e}" for t, e in PAIRS])
def test_every_supported_estimator_round_trips_through_skops(tmp_path, task, estimator):
    model = build_pipeline(task, estimator, {}, 0, ["a"], ["b"]).fit(X, TARGETS[task])
    check_skops_safe(model, trusted_types())
    mlflow_sklearn.save_model(
        model, tmp_path / "m", serialization_format="skops", skops_trusted_types=trusted_types()
    )
    loaded = load_sklearn_model(tmp_path / "m")
    assert np.array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize(("task", "estimator"), PAIRS, ids=[f"{t}-{e}" for t, e in PAIRS])
def test_many_valued_categories_and_gaps_fit_every_estimator(task, estimator):
    """One-hot encoding of a 60-level column is sparse; estimators that refuse sparse input
    get dense input instead of failing. Categories unseen in training are scored."""
    rng = np.random.default_rng(0)
    rows = 600
    x = pd.DataFrame(
        {
            "amount": rng.normal(size=rows),
            "place": rng.choice([f"p{i}" for i in range(60)], size=rows).astype(object),
        }
    )
    x.loc[::17, "amount"] = np.nan
    x.loc[::23, "place"] = None
    y = x["amount"].fillna(0) + rng.normal(size=rows)
    target = (y > 0).map({True: "yes", False: "no"}) if task == "classification" else y
    model = build_pipeline(task, estimator, {}, 0, ["amount"], ["place"]).fit(x, target)
    unseen = pd.DataFrame({"amount": [0.1, np.nan], "place": ["never-seen", None]})
    assert len(model.predict(unseen)) == 2


def test_untrusted_type_is_refused_before_saving():
    model = make_pipeline(FunctionTransformer(operator.neg), LogisticRegression()).fit(X[["a"]], Y)
    with pytest.raises(PipelineError, match=r"'_operator\.neg'.*add them to skops_trusted_types"):
        check_skops_safe(model, trusted_types())


def test_loader_uses_the_repository_trust_list_not_the_model_own(tmp_path):
    model = make_pipeline(FunctionTransformer(operator.neg), LogisticRegression()).fit(X[["a"]], Y)
    # The model's MLmodel trusts operator.neg; the project's reviewed list does not.
    mlflow_sklearn.save_model(
        model,
        tmp_path / "m",
        serialization_format="skops",
        skops_trusted_types=[*trusted_types(), "_operator.neg"],
    )
    with pytest.raises(PipelineError, match=r"not on the reviewed trust list: \['_operator.neg'\]"):
        load_sklearn_model(tmp_path / "m")


def test_pickled_model_is_refused(tmp_path):
    model = LogisticRegression().fit(X[["a"]], Y)
    mlflow_sklearn.save_model(model, tmp_path / "m", serialization_format="cloudpickle")
    with pytest.raises(PipelineError, match="only 'skops' files are loaded"):
        load_sklearn_model(tmp_path / "m")


def test_fingerprint_sees_any_changed_byte(tmp_path):
    model = LogisticRegression().fit(X[["a"]], Y)
    mlflow_sklearn.save_model(
        model, tmp_path / "m", serialization_format="skops", skops_trusted_types=trusted_types()
    )
    before = directory_sha256(tmp_path / "m")
    (tmp_path / "m" / "registered_model_meta").write_text("model_name: x\n")  # MLflow's own
    assert directory_sha256(tmp_path / "m") == before
    skops_file = tmp_path / "m" / "model.skops"
    skops_file.write_bytes(skops_file.read_bytes() + b"\0")
    assert directory_sha256(tmp_path / "m") != before

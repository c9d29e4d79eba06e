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
from mlops.modeling import ESTIMATORS, build_pipeline, make_estimator, trusted_types
from mlops.registry import check_skops_safe, directory_sha256, load_sklearn_model

pytestmark = pytest.mark.slow  # MLflow saves models: seconds each

X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": ["x", "y", "x", "y", "x", "y"]})
Y = pd.Series(["good", "bad", "good", "bad", "good", "bad"])


@pytest.mark.parametrize("estimator", sorted(ESTIMATORS))
def test_every_supported_estimator_round_trips_through_skops(tmp_path, estimator):
    model = build_pipeline(["a"], ["b"], make_estimator(estimator, {}, seed=0)).fit(X, Y)
    check_skops_safe(model, trusted_types())
    mlflow_sklearn.save_model(
        model, tmp_path / "m", serialization_format="skops", skops_trusted_types=trusted_types()
    )
    loaded = load_sklearn_model(tmp_path / "m")
    assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))


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

"""Safe model files: skops round trip, the trust list recorded with the model, pickle refused,
and the code a model needs."""

import operator
import sys
import threading

import numpy as np
import pandas as pd
import pytest
from mlflow import sklearn as mlflow_sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from mlops.errors import PipelineError
from mlops.modeling import BUILT_IN, REVIEWED_TYPES, build_pipeline
from mlops.registry import check_skops_safe, directory_sha256, load_sklearn_model

pytestmark = pytest.mark.slow  # MLflow saves models: seconds each

X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0, 4.0, 5.0], "b": ["x", "y", "x", "y", "x", "y"]})
Y = pd.Series(["good", "bad", "good", "bad", "good", "bad"])


TARGETS = {"classification": Y, "regression": pd.Series([1.5, 2.0, 0.5, 3.0, 2.5, 4.0])}
PAIRS = [(task, name) for task in BUILT_IN for name in BUILT_IN[task]]
TRUSTED = list(REVIEWED_TYPES)


@pytest.mark.parametrize(("task", "estimator"), PAIRS, ids=[f"{t}-{e}" for t, e in PAIRS])
def test_every_supported_estimator_round_trips_through_skops(tmp_path, task, estimator):
    model = build_pipeline(task, estimator, {}, 0, ["a"], ["b"]).fit(X, TARGETS[task])
    assert set(check_skops_safe(model, TRUSTED, [], "config.yaml")) <= set(TRUSTED)
    mlflow_sklearn.save_model(
        model, tmp_path / "m", serialization_format="skops", skops_trusted_types=TRUSTED
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
    with pytest.raises(
        PipelineError,
        match=r"^config\.yaml: model\.trusted_types: .*\['_operator\.neg'\]; nothing was saved\. "
        r"Review each one .*docs/security\.md#model-files.* list it under model\.trusted_types",
    ):
        check_skops_safe(model, TRUSTED, [], "config.yaml")


def test_a_type_skops_stores_but_cannot_load_back_is_refused():
    model = FunctionTransformer(kw_args={"lock": threading.Lock()}).fit(X)
    with pytest.raises(PipelineError, match="skops stores the fitted model but cannot load it"):
        check_skops_safe(model, [*TRUSTED, "_thread.lock"], [], "config.yaml")


def test_a_class_no_server_could_import_is_refused_before_saving(tmp_path, monkeypatch):
    """A helper module beside config.yaml is importable while training, not where the model
    is served: only project_model travels with the model."""
    (tmp_path / "helpers.py").write_text(
        "from sklearn.preprocessing import FunctionTransformer\n"
        "class Identity(FunctionTransformer):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    from helpers import Identity

    model = make_pipeline(Identity(), LogisticRegression()).fit(X[["a"]], Y)
    with pytest.raises(
        PipelineError,
        match=r"holds helpers\.Identity \(from .*helpers\.py\), which a model server could not",
    ):
        check_skops_safe(model, [*TRUSTED, "helpers.Identity"], [], "config.yaml")
    monkeypatch.delitem(sys.modules, "helpers")


def saved_with_a_type_of_its_own(path):
    """A model holding `_operator.neg`, saved with a trust list that names it."""
    model = make_pipeline(FunctionTransformer(operator.neg), LogisticRegression()).fit(X[["a"]], Y)
    mlflow_sklearn.save_model(
        model, path, serialization_format="skops", skops_trusted_types=[*TRUSTED, "_operator.neg"]
    )
    return model


def test_loader_uses_the_trust_list_recorded_with_the_model(tmp_path):
    """A model trained under a config that trusted more still loads: its own list decides."""
    model = saved_with_a_type_of_its_own(tmp_path / "m")
    assert np.array_equal(
        load_sklearn_model(tmp_path / "m").predict(X[["a"]]), model.predict(X[["a"]])
    )


def test_a_model_file_holding_more_than_its_recorded_list_is_refused(tmp_path):
    saved_with_a_type_of_its_own(tmp_path / "m")
    mlmodel = tmp_path / "m" / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace("- _operator.neg\n", ""))
    with pytest.raises(
        PipelineError, match=r"recorded trust list .* does not: \['_operator\.neg'\]"
    ):
        load_sklearn_model(tmp_path / "m")


def test_a_model_whose_module_is_gone_names_the_class_and_the_module(tmp_path, monkeypatch):
    """skops records module.Class: a model saved without its module (here, one renamed since)
    cannot load, and says so."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "old_features.py").write_text(
        "from sklearn.preprocessing import FunctionTransformer\n"
        "class Identity(FunctionTransformer):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    from old_features import Identity

    model = make_pipeline(Identity(), LogisticRegression()).fit(X[["a"]], Y)
    mlflow_sklearn.save_model(
        model,
        tmp_path / "m",
        serialization_format="skops",
        skops_trusted_types=[*TRUSTED, "old_features.Identity"],
    )
    monkeypatch.delitem(sys.modules, "old_features")
    (tmp_path / "src" / "old_features.py").rename(tmp_path / "src" / "new_features.py")
    with pytest.raises(
        PipelineError,
        match=r"cannot be loaded: it holds old_features\.Identity, but no module "
        r"\['old_features'\] is shipped with it \(code/\) or installed",
    ):
        load_sklearn_model(tmp_path / "m")


def test_pickled_model_is_refused(tmp_path):
    model = LogisticRegression().fit(X[["a"]], Y)
    mlflow_sklearn.save_model(model, tmp_path / "m", serialization_format="cloudpickle")
    with pytest.raises(PipelineError, match="only 'skops' files are loaded"):
        load_sklearn_model(tmp_path / "m")


def test_fingerprint_sees_any_changed_byte(tmp_path):
    model = LogisticRegression().fit(X[["a"]], Y)
    mlflow_sklearn.save_model(
        model, tmp_path / "m", serialization_format="skops", skops_trusted_types=TRUSTED
    )
    before = directory_sha256(tmp_path / "m")
    (tmp_path / "m" / "registered_model_meta").write_text("model_name: x\n")  # MLflow's own
    assert directory_sha256(tmp_path / "m") == before
    skops_file = tmp_path / "m" / "model.skops"
    skops_file.write_bytes(skops_file.read_bytes() + b"\0")
    assert directory_sha256(tmp_path / "m") != before

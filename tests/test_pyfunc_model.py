"""The model's interface for MLflow's clients (mlops/pyfunc_model.py), on tables as clients
send them; tests/test_serving.py runs it through MLflow's server, CLI and pyfunc."""

import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.models import Model, ModelSignature
from mlflow.types import ColSpec, Schema
from mlflow.types.schema import AnyType
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import FixedThresholdClassifier
from sklearn.pipeline import Pipeline

from mlops.modeling import default_preprocessing
from mlops.pyfunc_model import ProjectModel, input_problems
from mlops.scoring import model_columns

NUMERIC, CATEGORICAL = ["count", "amount"], ["colour"]
FEATURES = NUMERIC + CATEGORICAL


def training_table(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    random = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "count": random.integers(0, 50, rows).astype("float64"),
            "amount": np.where(random.random(rows) < 0.1, np.nan, random.normal(100, 30, rows)),
            "colour": random.choice(["red", "green", None], rows),
        }
    )


def fitted(estimator, target: np.ndarray, table: pd.DataFrame) -> Pipeline:
    pipeline = Pipeline(
        [("preprocess", default_preprocessing(NUMERIC, CATEGORICAL, False)), ("model", estimator)]
    )
    return pipeline.fit(table, target)


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return training_table()


@pytest.fixture(scope="module")
def classifier(table) -> ProjectModel:
    target = np.where(table["count"] > 20, "high", "low")
    model = FixedThresholdClassifier(
        fitted(LogisticRegression(), target, table), threshold=0.8, pos_label="high"
    )
    return ProjectModel(model, FEATURES, NUMERIC)


def as_a_client_sends_them(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The same rows as MLflow hands them over from a CSV (integers where a column has no
    gap), from JSON (a column of nulls arrives as objects), and with extra columns."""
    complete = table.dropna().head(20)
    csv = complete.astype({"count": "int64"})
    json_nulls = complete.astype({"amount": object})
    json_nulls["amount"] = None
    extra = csv.assign(id=range(len(csv)))[["id", *reversed(FEATURES)]]
    return {"csv": csv, "json with nulls": json_nulls, "extra columns": extra}


def test_integers_nulls_and_extra_columns_score_as_the_training_rows_would(classifier, table):
    for name, frame in as_a_client_sends_them(table).items():
        reference = frame[FEATURES].astype({"count": "float64", "amount": "float64"})
        expected = classifier.model.predict(reference)
        assert np.array_equal(classifier.predict(frame), expected), name
        assert np.array_equal(classifier.predict(frame, params={"output": "prediction"}), expected)


def test_probabilities_come_with_the_label_at_the_models_threshold(classifier, table):
    rows = table.head(50)
    answered = classifier.predict(rows, params={"output": "probabilities"})
    assert list(answered.columns) == ["prediction", "probability_high", "probability_low"]
    assert np.allclose(answered[["probability_high", "probability_low"]].sum(axis=1), 1)
    assert (
        answered["prediction"] == np.where(answered["probability_high"] >= 0.8, "high", "low")
    ).all()
    # The threshold is why: at 0.5, some of these rows would be labelled otherwise.
    assert ((answered["probability_high"] >= 0.5) != (answered["prediction"] == "high")).any()


def test_every_class_has_its_probability(table):
    target = pd.cut(table["count"], [-1, 15, 30, 99], labels=["few", "some", "many"]).astype(str)
    model = ProjectModel(fitted(LogisticRegression(), target, table), FEATURES, NUMERIC)
    answered = model.predict(table.head(30), params={"output": "probabilities"})
    assert list(answered.columns) == [
        "prediction",
        "probability_few",
        "probability_many",
        "probability_some",
    ]
    assert np.allclose(answered.drop(columns="prediction").sum(axis=1), 1)


@pytest.mark.parametrize(
    ("change", "params", "expected"),
    [
        (
            lambda f: f.drop(columns="colour"),
            None,
            "input does not match the model: colour: missing (the model needs it)",
        ),
        (
            lambda f: f.astype({"count": object}).assign(count="many"),
            None,
            "input does not match the model: count: expected numbers, found e.g. 'many'",
        ),
        (
            lambda f: f,
            {"output": "probas"},
            "params.output: 'probas' is not one of ['prediction', 'probabilities']",
        ),
    ],
)
def test_bad_requests_name_the_column_or_parameter(classifier, table, change, params, expected):
    with pytest.raises(MlflowException) as error:
        classifier.predict(change(table.head(3)), params=params)
    assert error.value.message == expected
    assert error.value.get_http_status_code() == 400


def test_a_regression_model_answers_numbers_and_refuses_probabilities(table):
    model = ProjectModel(fitted(Ridge(), table["count"] * 2.0, table), FEATURES, NUMERIC)
    assert model.predict(table.head(4)).dtype == np.float64
    with pytest.raises(MlflowException, match="'probabilities' is for classifiers"):
        model.predict(table.head(4), params={"output": "probabilities"})


def test_input_problems_list_every_column_once():
    frame = pd.DataFrame({"count": ["3", "x", None], "amount": [1, 2, 3]})
    assert input_problems(frame, FEATURES, NUMERIC) == [
        "count: expected numbers, found e.g. 'x'",
        "colour: missing (the model needs it)",
    ]


def test_a_model_logged_before_its_columns_were_in_its_metadata_is_read_from_its_signature(
    tmp_path,
):
    # As training logged it before: every column in the signature, numeric ones typed Any.
    old = Model(
        signature=ModelSignature(
            inputs=Schema([ColSpec(AnyType(), "count"), ColSpec("string", "colour")])
        ),
        metadata={"numeric_features": ["count"]},
    )
    old.save(str(tmp_path / "MLmodel"))
    assert model_columns(tmp_path) == (["count", "colour"], ["count"])
    Model(metadata={"features": FEATURES, "numeric_features": NUMERIC}).save(
        str(tmp_path / "MLmodel")
    )
    assert model_columns(tmp_path) == (FEATURES, NUMERIC)

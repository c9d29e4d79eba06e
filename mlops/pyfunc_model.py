"""The model as MLflow's clients see it: the pyfunc `loader_module` of every model the project
trains, shipped in the model's code/ folder and imported from there by `mlflow models serve`,
`mlflow models predict` and `mlflow.pyfunc.load_model`.

Two things MLflow's own scikit-learn loader cannot do:
- Request parameters. `{"output": "prediction"}` (the default) answers what `predict` does:
  a label, or a number for regression. `{"output": "probabilities"}` answers, per row, the
  label and each class's probability (`prediction`, `probability_<class>`), as
  `score_batch.py` writes them. MLflow passes no parameters with CSV input: CSV gets labels.
- Numbers as clients have them. MLflow's schema check refuses int64 input for a `double`
  column, and its CSV parser fails on a column typed `Any`, while pandas reads one CSV
  column as int64 or float64 depending on whether the rows have a gap. So the model's
  signature declares only the parameters; the columns (FEATURES, and NUMERIC_FEATURES, cast
  to floats here) are in the model's metadata and checked here, one message per column.

It travels with the model, so it imports only what a model server has installed (mlflow,
pandas, numpy), never the template's mlops package; and it loads the model through
`mlflow.sklearn.load_model`: skops, the trust list recorded with the model, and MLflow's
MLFLOW_ALLOW_PICKLE_DESERIALIZATION guard.
"""

from pathlib import Path
from typing import Any

import pandas as pd

# The model's metadata (MLmodel): the columns it takes, and those cast to floats.
FEATURES = "features"
NUMERIC_FEATURES = "numeric_features"
# The request parameter, and what it may ask for.
OUTPUT = "output"
PREDICTION = "prediction"
PROBABILITIES = "probabilities"
OUTPUTS = (PREDICTION, PROBABILITIES)


def params_schema() -> Any:
    """The request parameters the model's signature declares (MLflow drops undeclared ones)."""
    from mlflow.types import ParamSchema, ParamSpec

    return ParamSchema([ParamSpec(OUTPUT, "string", PREDICTION)])


def input_problems(frame: pd.DataFrame, features: list[str], numeric: list[str]) -> list[str]:
    """What stops the model from scoring these rows, one line per column: a column it needs is
    absent, or a numeric feature holds something other than numbers."""
    problems = []
    for name in features:
        if name not in frame.columns:
            problems.append(f"{name}: missing (the model needs it)")
        elif name in numeric and not pd.api.types.is_numeric_dtype(frame[name]):
            values = frame[name]
            bad = values[pd.to_numeric(values, errors="coerce").isna() & values.notna()]
            if len(bad):
                problems.append(f"{name}: expected numbers, found e.g. {bad.iloc[0]!r}")
    return problems


def feature_frame(frame: pd.DataFrame, features: list[str], numeric: list[str]) -> pd.DataFrame:
    """The model's columns of `frame`, numeric ones as floats (gaps as NaN); call after
    `input_problems` found none."""
    rows = frame[features].copy()
    for name in numeric:
        # A column of gaps only arrives as objects (JSON nulls): numbers, all missing.
        rows[name] = pd.to_numeric(rows[name]).astype("float64")
    return rows


def labelled_probabilities(model: Any, rows: pd.DataFrame) -> pd.DataFrame:
    """`prediction` (at the model's own decision threshold) and `probability_<class>` for
    each class, one row per input row."""
    frame = pd.DataFrame({PREDICTION: model.predict(rows)}, index=rows.index)
    probabilities = model.predict_proba(rows)
    for index, label in enumerate(model.classes_):
        frame[f"probability_{label}"] = probabilities[:, index]
    return frame


def _bad_request(message: str) -> Exception:
    """An error MLflow's scoring server answers with HTTP 400 and this message."""
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


class ProjectModel:
    """The fitted scikit-learn model behind MLflow's `predict(data, params=...)`."""

    def __init__(self, model: Any, features: list[str], numeric: list[str]) -> None:
        self.model = model
        self.features = features
        self.numeric = numeric

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        output = (params or {}).get(OUTPUT) or PREDICTION
        if output not in OUTPUTS:
            raise _bad_request(f"params.{OUTPUT}: {output!r} is not one of {list(OUTPUTS)}")
        if output == PROBABILITIES and not hasattr(self.model, "predict_proba"):
            raise _bad_request(
                f"params.{OUTPUT}: {PROBABILITIES!r} is for classifiers; this model predicts "
                f"numbers (use {PREDICTION!r})"
            )
        frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        problems = input_problems(frame, self.features, self.numeric)
        if problems:
            raise _bad_request("input does not match the model: " + "; ".join(problems))
        rows = feature_frame(frame, self.features, self.numeric)
        if output == PROBABILITIES:
            return labelled_probabilities(self.model, rows)
        return self.model.predict(rows)


def _load_pyfunc(path: str) -> ProjectModel:
    """Called by MLflow with the model's directory."""
    import mlflow.sklearn
    from mlflow.models import Model

    model_dir = Path(path) if Path(path).is_dir() else Path(path).parent
    metadata = Model.load(str(model_dir)).metadata or {}
    return ProjectModel(
        mlflow.sklearn.load_model(str(model_dir)),
        list(metadata[FEATURES]),
        list(metadata.get(NUMERIC_FEATURES, [])),
    )

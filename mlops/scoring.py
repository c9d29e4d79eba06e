"""Score a fitted pipeline on held-out rows: predictions, positive-class scores, metrics."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import DataType
from sklearn.pipeline import Pipeline

from mlops.errors import PipelineError
from mlops.metrics import compute_metrics

NUMERIC_TYPES = (DataType.double, DataType.float, DataType.long, DataType.integer)


@dataclass(frozen=True)
class Scores:
    predictions: pd.DataFrame  # index = row in the data file; columns: prediction, probability
    metrics: dict[str, float]


def score(
    model: Pipeline, x: pd.DataFrame, y: pd.Series, positive_class: str, metric_names: list[str]
) -> Scores:
    classes = [str(c) for c in model.classes_]
    if positive_class not in classes:
        raise PipelineError(
            f"data.positive_class {positive_class!r} is not a class the model knows ({classes})"
        )
    predicted = model.predict(x)
    probability = model.predict_proba(x)[:, classes.index(positive_class)]
    y_true = (y.astype("string") == positive_class).to_numpy(dtype=bool)
    y_pred = np.asarray(predicted).astype(str) == positive_class
    metrics = compute_metrics(metric_names, y_true, y_pred, probability)
    frame = pd.DataFrame({"prediction": predicted, "probability": probability}, index=x.index)
    frame.index.name = "row"
    return Scores(frame, metrics)


def same_predictions(expected: pd.DataFrame, actual: pd.DataFrame) -> bool:
    """Equal labels on the same rows, and probabilities equal to float precision."""
    return (
        expected.index.equals(actual.index)
        and (expected["prediction"].astype(str) == actual["prediction"].astype(str)).all()
        and np.allclose(expected["probability"], actual["probability"], rtol=0, atol=1e-12)
    )


def signature_problems(frame: pd.DataFrame, signature: ModelSignature) -> list[str]:
    """What stops the model's input schema from accepting these rows, one line per column."""
    problems = []
    for column in signature.inputs.inputs:
        name, numeric = column.name, column.type in NUMERIC_TYPES
        if name not in frame.columns:
            if column.required:
                problems.append(f"{name}: missing (the model needs it)")
            continue
        values = frame[name]
        if numeric and not pd.api.types.is_numeric_dtype(values):
            bad = values[pd.to_numeric(values, errors="coerce").isna() & values.notna()]
            problems.append(f"{name}: expected numbers, found e.g. {bad.iloc[0]!r}")
        if column.required and values.isna().any():
            problems.append(f"{name}: {int(values.isna().sum())} missing value(s), none allowed")
    return problems

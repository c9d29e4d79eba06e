"""Score a fitted pipeline on held-out rows: predictions, positive-class scores, metrics."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import DataType
from sklearn.pipeline import Pipeline

from mlops.errors import PipelineError
from mlops.metrics import Task, compute_metrics

NUMERIC_TYPES = (DataType.double, DataType.float, DataType.long, DataType.integer)


@dataclass(frozen=True)
class Scores:
    # index = row in the data file; columns: prediction, and probability for classification
    predictions: pd.DataFrame
    metrics: dict[str, float]


def score(
    model: Pipeline,
    x: pd.DataFrame,
    y: pd.Series,
    task: Task,
    positive_class: str | None,
    metric_names: list[str],
) -> Scores:
    """Predictions for the rows and the named metrics against their true values."""
    predicted = model.predict(x)
    if task == "regression":
        y_true = y.to_numpy(dtype="float64")
        y_pred = np.asarray(predicted, dtype="float64")
        columns = {"prediction": y_pred}
        metrics = compute_metrics(metric_names, y_true, y_pred, y_pred)
    else:
        classes = [str(c) for c in model.classes_]
        if positive_class not in classes:
            raise PipelineError(
                f"data.positive_class {positive_class!r} is not a class the model knows ({classes})"
            )
        probability = model.predict_proba(x)[:, classes.index(positive_class)]
        y_true = (y.astype("string") == positive_class).to_numpy(dtype=bool)
        y_pred = np.asarray(predicted).astype(str) == positive_class
        columns = {"prediction": predicted, "probability": probability}
        metrics = compute_metrics(metric_names, y_true, y_pred, probability)
    frame = pd.DataFrame(columns, index=x.index)
    frame.index.name = "row"
    return Scores(frame, metrics)


def same_predictions(expected: pd.DataFrame, actual: pd.DataFrame) -> bool:
    """The same rows, equal labels (or numbers), and scores equal to float precision."""
    if not expected.index.equals(actual.index) or set(expected) != set(actual):
        return False
    return all(same_values(expected[column], actual[column]) for column in expected)


def same_values(expected: pd.Series | list, actual: pd.Series | list) -> bool:
    """Numbers equal to float precision, anything else equal as text."""
    expected, actual = pd.Series(list(expected)), pd.Series(list(actual))
    if len(expected) != len(actual):
        return False
    if pd.api.types.is_numeric_dtype(expected) and pd.api.types.is_numeric_dtype(actual):
        return bool(np.allclose(expected, actual, rtol=1e-9, atol=1e-12, equal_nan=True))
    return bool((expected.astype(str) == actual.astype(str)).all())


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

"""Score a fitted pipeline on held-out rows: predictions, positive-class scores, metrics."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from mlops.errors import PipelineError
from mlops.metrics import compute_metrics


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

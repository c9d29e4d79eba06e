"""Score a fitted pipeline on held-out rows: predictions, class probabilities, metrics."""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.models import Model
from sklearn.pipeline import Pipeline

from mlops.decision_threshold import decision_threshold
from mlops.errors import PipelineError
from mlops.metrics import METRICS, Predictions, Task, class_names, compute_metrics
from mlops.pyfunc_model import (
    FEATURES,
    NUMERIC_FEATURES,
    feature_frame,
    input_problems,
    labelled_probabilities,
)


@dataclass(frozen=True)
class Classes:
    """The classes of a classification problem as the metrics take them: every class name
    (those of the truth and of each model scored on it), in order, each row's class coded as
    its index, and the positive class's code (binary) or None (multiclass)."""

    names: tuple[str, ...]
    positive: int | None = None

    @classmethod
    def of(cls, positive_class: str | None, *label_sets: Iterable[Any]) -> "Classes":
        names = class_names(label for labels in label_sets for label in labels)
        positive = None if positive_class is None else names.index(positive_class)
        return cls(tuple(names), positive)

    def codes(self, labels: Any) -> np.ndarray:
        """Each label's index in `names` (every label must be one of them)."""
        text = pd.Series(np.asarray(labels)).astype(str)
        codes = pd.Categorical(text, categories=list(self.names)).codes.astype("int64")
        if (codes < 0).any():
            raise ValueError(f"labels outside {list(self.names)}: {sorted(set(text[codes < 0]))}")
        return codes


def _known_classes(model: Pipeline, positive_class: str | None) -> list[str]:
    classes = [str(c) for c in model.classes_]
    if positive_class is not None and positive_class not in classes:
        raise PipelineError(
            f"data.positive_class {positive_class!r} is not a class the model knows ({classes})"
        )
    return classes


@dataclass(frozen=True)
class Scores:
    # index = row in the data file; columns: prediction, and for classification the
    # positive class's probability (binary) or one probability_<class> per class (multiclass)
    predictions: pd.DataFrame
    metrics: dict[str, float]
    # Classification: each class's probability, one column per class the model knows.
    probabilities: pd.DataFrame | None = None

    @property
    def classes(self) -> list[str]:
        """The classes the model knows (classification)."""
        return [] if self.probabilities is None else list(self.probabilities.columns)

    def for_metrics(self, classes: Classes | None) -> Predictions:
        """The predictions as the metrics take them (see mlops.metrics.Predictions); `classes`
        is None for regression. A class the model does not know gets NaN probabilities."""
        predicted = self.predictions["prediction"]
        if classes is None:
            numbers = predicted.to_numpy(dtype="float64")
            return Predictions(numbers, numbers)
        scores = self.probabilities.reindex(columns=list(classes.names))
        return Predictions(classes.codes(predicted), scores.to_numpy(dtype="float64"))


def true_values(y: pd.Series, classes: Classes | None) -> np.ndarray:
    """The target as the metrics take it: numbers (regression), or class codes."""
    return y.to_numpy(dtype="float64") if classes is None else classes.codes(y)


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
        y_pred = np.asarray(predicted, dtype="float64")
        metrics = compute_metrics(metric_names, true_values(y, None), Predictions(y_pred, y_pred))
        frame = pd.DataFrame({"prediction": y_pred}, index=x.index)
        frame.index.name = "row"
        return Scores(frame, metrics)
    known = _known_classes(model, positive_class)
    probabilities = pd.DataFrame(model.predict_proba(x), index=x.index, columns=known)
    if positive_class is None:
        columns = {f"probability_{name}": probabilities[name] for name in known}
    else:
        columns = {"probability": probabilities[positive_class]}
    frame = pd.DataFrame({"prediction": predicted, **columns}, index=x.index)
    frame.index.name = "row"
    scores = Scores(frame, {}, probabilities)
    classes = Classes.of(positive_class, known, y)
    metrics = compute_metrics(
        metric_names, true_values(y, classes), scores.for_metrics(classes), classes.positive
    )
    return Scores(frame, metrics, probabilities)


def prediction_scores(
    model: Pipeline, x: pd.DataFrame, task: Task, positive_class: str | None
) -> pd.Series:
    """What drift monitoring follows of the predictions, one value per row: the positive
    class's probability (binary), the predicted class as text (multiclass), or the predicted
    value (regression)."""
    if task == "regression":
        return pd.Series(np.asarray(model.predict(x), dtype="float64"), index=x.index)
    if positive_class is None:
        return pd.Series(np.asarray(model.predict(x)).astype(str), index=x.index)
    classes = _known_classes(model, positive_class)
    return pd.Series(model.predict_proba(x)[:, classes.index(positive_class)], index=x.index)


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


def model_columns(model_dir: Path) -> tuple[list[str], list[str]]:
    """The columns a logged model takes, and those of them that are numeric."""
    model = Model.load(str(model_dir))
    metadata = model.metadata or {}
    numeric = list(metadata.get(NUMERIC_FEATURES, []))
    if FEATURES in metadata:
        return list(metadata[FEATURES]), numeric
    # Trained before its columns were recorded in the metadata: its signature lists them.
    if model.signature is None or model.signature.inputs is None:
        raise PipelineError(f"{model_dir}: the model records no input columns")
    return [column.name for column in model.signature.inputs.inputs], numeric


def model_inputs(frame: pd.DataFrame, model_dir: Path, source: str) -> pd.DataFrame:
    """The columns a logged model takes, numeric ones as floats.

    Lets a model be scored on rows of the data file whatever the current config's feature
    list is (a champion trained on other columns, a batch file with extra ones). Raises
    PipelineError naming `source` and every column that is absent or of the wrong type: the
    same check the model's MLflow clients get (mlops/pyfunc_model.py).
    """
    features, numeric = model_columns(model_dir)
    problems = input_problems(frame, features, numeric)
    if problems:
        raise PipelineError(
            f"{source}: does not match the model's input schema:\n  " + "\n  ".join(problems)
        )
    return feature_frame(frame, features, numeric)


def predicted_labels(model: Any, probabilities: np.ndarray) -> np.ndarray:
    """The labels (as text) `model.predict` gives, from its `predict_proba` output: at the
    model's decision threshold when it has one, else the most probable class."""
    classes = np.asarray([str(c) for c in model.classes_])
    threshold = decision_threshold(model)
    if threshold is None:
        return classes[probabilities.argmax(axis=1)]
    positive = list(classes).index(str(model.pos_label))
    return np.where(
        probabilities[:, positive] >= threshold, classes[positive], classes[1 - positive]
    )


def permutation_importance_of(
    model: Pipeline,
    x: pd.DataFrame,
    y: pd.Series,
    task: Task,
    positive_class: str | None,
    metric: str,
    seed: int,
    rows: int = 500,
    shuffles: int = 40,
) -> dict[str, float]:
    """How much `metric` worsens when each input column is shuffled, on at most `rows` rows
    (a seeded sample of them all, not the first ones, which a time-ordered split makes the
    oldest): scikit-learn's permutation importance at a bounded cost (about `shuffles`
    predictions, at least one per column). Positive means the model relies on the column."""
    from sklearn.inspection import permutation_importance

    from mlops.data import spread_sample

    sample = spread_sample(x.index, rows, seed)
    x, y = x.loc[sample], y.loc[sample]
    compute = METRICS[metric].compute
    sign = 1.0 if METRICS[metric].greater_is_better else -1.0
    if task == "regression":
        classes, known = None, []
    else:
        known = _known_classes(model, positive_class)
        classes = Classes.of(positive_class, known, y)
    y_true = true_values(y, classes)

    def scorer(estimator: Pipeline, x_part: pd.DataFrame, _y: pd.Series) -> float:
        # One prediction per call: labels follow from the probabilities.
        if classes is None:
            predicted = estimator.predict(x_part)
            return sign * compute(y_true, Predictions(predicted, predicted), None)
        probability = pd.DataFrame(estimator.predict_proba(x_part), columns=known)
        labels = classes.codes(predicted_labels(estimator, probability.to_numpy()))
        scores = probability.reindex(columns=list(classes.names)).to_numpy(dtype="float64")
        return sign * compute(y_true, Predictions(labels, scores), classes.positive)

    repeats = max(1, min(5, shuffles // max(len(x.columns), 1)))
    result = permutation_importance(
        model, x, y, scoring=scorer, n_repeats=repeats, random_state=seed
    )
    means = result.importances_mean
    return {str(column): float(value) for column, value in zip(x.columns, means, strict=True)}


def score_csv(config: Any, path: Path, output: Path | None, model_uri: str | None) -> Path:
    """Score a CSV with a model (default: the champion) and write the rows with their
    predictions (and class probabilities) to `output` (default: <input>.predictions.csv)."""
    import tempfile

    from mlflow.tracking import MlflowClient

    from mlops.data import load_dataset
    from mlops.registry import (
        champion_version,
        download_deployed,
        download_model,
        load_sklearn_model,
    )
    from mlops.tracking import configure_tracking, tracking_errors

    name, alias = config.mlflow.registered_model, config.mlflow.champion_alias
    frame = load_dataset(path, config.data.max_file_mb)
    uri = configure_tracking(config)
    with tracking_errors(uri), tempfile.TemporaryDirectory() as scratch:
        if model_uri is None:  # the champion: only the files that were deployed
            version = champion_version(MlflowClient(), name, alias)
            if version is None:
                raise PipelineError(f"{name} has no @{alias} yet; run the pipeline first")
            model_uri = f"models:/{name}@{alias}"
            model_dir = download_deployed(version, Path(scratch))
        else:
            model_dir = download_model(model_uri, Path(scratch))
        model = load_sklearn_model(model_dir)
        features = model_inputs(frame, model_dir, f"{path} for {model_uri}")
    if hasattr(model, "predict_proba"):
        predicted = labelled_probabilities(model, features)
    else:
        predicted = pd.DataFrame({"prediction": model.predict(features)}, index=features.index)
    scored = frame.drop(columns=predicted.columns, errors="ignore").join(predicted)
    output = output or path.with_name(f"{path.stem}.predictions.csv")
    scored.to_csv(output, index=False)
    logging.getLogger(__name__).info(
        f"scored {len(scored)} rows of {path.name} with {model_uri}: {output}"
    )
    return output
